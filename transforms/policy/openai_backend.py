"""A Policy that calls an OpenAI-compatible vLLM server (one server per machine, many Beam workers)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from transforms.policy.spec import PolicySpec
from transforms.protocols import Generation, GenerationRequest, Sample


class OpenAIServerPolicy:
    """Sends each request to ``/v1/completions`` (concurrently, so the server batches them)."""

    def __init__(self, spec: PolicySpec):
        from openai import OpenAI
        from transformers import AutoTokenizer

        self.spec = spec
        self.model_id = spec.model
        # The key comes from the environment only; "EMPTY" is what vLLM servers accept when unset.
        self.client = OpenAI(base_url=spec.server_url, api_key=os.environ.get(spec.api_key_env, "EMPTY"))
        # Chat templates are applied here so tree search can append partial steps to the prompt.
        self.tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer or spec.model)

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        from transforms.policy.vllm_backend import chat_prompt

        return chat_prompt(self.tokenizer, question, system)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if not requests:
            return []
        workers = max(1, min(self.spec.max_concurrent_requests, len(requests)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self._one, requests))

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
