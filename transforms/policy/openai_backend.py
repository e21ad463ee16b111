"""A Policy that calls an OpenAI-compatible vLLM server (one server per machine, many Beam workers)."""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Sequence

from transforms.policy.spec import PolicySpec
from transforms.protocols import Generation, GenerationRequest, Sample


class OpenAIServerPolicy:
    """Sends each request to ``/v1/completions`` (concurrently, so the server batches them).

    ``generate`` sends a batch and waits for all of it; ``submit``/``poll`` (``StreamingPolicy``, for
    the continuous scheduler) send each request at once on a long-lived pool of
    ``max_concurrent_requests`` threads and hand back each response as it arrives.
    """

    def __init__(self, spec: PolicySpec):
        from openai import OpenAI
        from transformers import AutoTokenizer

        self.spec = spec
        self.model_id = spec.model
        # The key comes from the environment only; "EMPTY" is what vLLM servers accept when unset.
        self.client = OpenAI(base_url=spec.server_url, api_key=os.environ.get(spec.api_key_env, "EMPTY"))
        # Chat templates are applied here so tree search can append partial steps to the prompt.
        self.tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer or spec.model)
        self._pool: ThreadPoolExecutor | None = None  # for submit/poll, started on first use
        self._in_flight: dict[Future, int] = {}
        self._tickets = 0

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        from transforms.policy.vllm_backend import chat_prompt

        return chat_prompt(self.tokenizer, question, system)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if not requests:
            return []
        workers = max(1, min(self.spec.max_concurrent_requests, len(requests)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._one, requests))

    def submit(self, requests: Sequence[GenerationRequest]) -> list[int]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, self.spec.max_concurrent_requests))
        tickets = list(range(self._tickets, self._tickets + len(requests)))
        self._tickets += len(requests)
        for ticket, request in zip(tickets, requests):
            self._in_flight[self._pool.submit(self._one, request)] = ticket
        return tickets

    def poll(self) -> list[tuple[int, Generation]]:
        """Wait until at least one submitted request has its response; return every finished one."""
        if not self._in_flight:
            return []
        done, _ = wait(list(self._in_flight), return_when=FIRST_COMPLETED)
        return [(self._in_flight.pop(future), future.result()) for future in done]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _one(self, request: GenerationRequest) -> Generation:
        s = request.sampling
        response = self.client.completions.create(
            model=self.model_id, prompt=request.prompt, n=s.n, max_tokens=s.max_tokens,
            temperature=s.temperature, top_p=s.top_p, stop=list(s.stop) or None, seed=s.seed,
            logprobs=1 if s.logprobs else None,
        )
        choices = sorted(response.choices, key=lambda c: c.index)
        samples = tuple(_sample(choice) for choice in choices)
        usage = response.usage
        return Generation(samples=samples, prompt_tokens=usage.prompt_tokens if usage else 0)


def _sample(choice) -> Sample:
    logprobs = choice.logprobs
    tokens = tuple(logprobs.tokens) if logprobs and logprobs.tokens else None
    token_logprobs = tuple(float(x or 0.0) for x in logprobs.token_logprobs) if tokens else None
    # vLLM adds `stop_reason`: None when the model emitted EOS, the stop string otherwise.
    stop_reason = getattr(choice, "stop_reason", "unknown")
    finish = "eos" if choice.finish_reason == "stop" and stop_reason is None else choice.finish_reason
    return Sample(
        text=choice.text, num_tokens=len(tokens) if tokens else 0, finish_reason=finish,
        cumulative_logprob=sum(token_logprobs) if token_logprobs else None,
        token_texts=tokens, token_logprobs=token_logprobs,
    )
