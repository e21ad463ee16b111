"""An in-process vLLM pooling engine (``runner="pooling"``, ``LLM.classify``) as a Scorer.

Raw logits are requested (``use_activation=False``) and turned into scores by ``to_score``, so this
backend and the transformers one give the same score for the same checkpoint.
"""

from __future__ import annotations

from typing import Sequence

from transforms.policy.vllm_backend import start_engine
from transforms.protocols import ScoreRequest
from transforms.scorer.spec import ScorerSpec, aggregate, expand_steps, score_text, to_score


class VLLMScorer:
    """A Scorer backed by one in-process vLLM pooling engine."""

    def __init__(self, spec: ScorerSpec):
        from transforms.policy.models import resolve_model

        path = resolve_model(spec.model)
        self.spec = spec = spec.for_folder(path)  # a trainer's folder declares activation and template
        self.model_id = spec.model
        # Pooling never samples, so chunked prefill can stay on (seeded_sampling=False).
        self.llm = start_engine(path, tokenizer=spec.tokenizer, dtype=spec.dtype, max_model_len=spec.max_model_len,
                                seed=spec.seed, kv_cache_gb=spec.kv_cache_gb, seeded_sampling=False,
                                runner="pooling", convert="classify")
        self.tokenizer = self.llm.get_tokenizer()

    def score(self, requests: Sequence[ScoreRequest]) -> list[float]:
        from vllm import PoolingParams

        if not requests:
            return []
        flat, counts = expand_steps(requests, self.spec.aggregation)
        texts = [score_text(r, self.spec.template, self.tokenizer) for r in flat]
        outputs = self.llm.classify(texts, pooling_params=PoolingParams(use_activation=False), use_tqdm=False)
        scores = [to_score(out.outputs.probs, self.spec.activation, self.spec.label) for out in outputs]
        return aggregate(scores, counts, self.spec.aggregation)
