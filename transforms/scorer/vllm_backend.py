"""An in-process vLLM pooling engine (``runner="pooling"``, ``LLM.classify``) as a Scorer.

Raw logits are requested (``use_activation=False``) and turned into scores by ``to_score``, so this
backend and the transformers one give the same score for the same checkpoint.
"""

from __future__ import annotations

import logging
from typing import Sequence

from transforms.policy.vllm_backend import MISSING_VLLM, _cpu_engine_env, _on_cpu
from transforms.protocols import ScoreRequest
from transforms.scorer.spec import ScorerSpec, score_text, to_score

log = logging.getLogger(__name__)


class VLLMScorer:
    """A Scorer backed by one in-process vLLM pooling engine."""

    def __init__(self, spec: ScorerSpec):
        from transforms.policy.models import resolve_model

        self.spec = spec
        self.model_id = spec.model
        path = resolve_model(spec.model)
        on_cpu = _on_cpu()
        if on_cpu:
            _cpu_engine_env()
        try:
            from vllm import LLM
        except ImportError as err:
            raise RuntimeError(MISSING_VLLM) from err
        engine_args = dict(
            model=path, tokenizer=spec.tokenizer or path, dtype=spec.dtype, max_model_len=spec.max_model_len,
            seed=spec.seed, kv_cache_memory_bytes=int(spec.kv_cache_gb * (1 << 30)),
            runner="pooling", convert="classify",
        )
        if on_cpu:
            engine_args.update(enforce_eager=True, distributed_executor_backend="uni")
        log.info("starting vLLM pooling engine for %s", self.model_id)
        self.llm = LLM(**engine_args)
        self.tokenizer = self.llm.get_tokenizer()

    def score(self, requests: Sequence[ScoreRequest]) -> list[float]:
        from vllm import PoolingParams

        if not requests:
            return []
        texts = [score_text(r, self.spec.template, self.tokenizer) for r in requests]
        outputs = self.llm.classify(texts, pooling_params=PoolingParams(use_activation=False), use_tqdm=False)
        return [to_score(out.outputs.probs, self.spec.activation, self.spec.label) for out in outputs]
