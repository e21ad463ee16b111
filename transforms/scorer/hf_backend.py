"""A transformers sequence-classification model as a Scorer (batched, no grad, on CPU or GPU)."""

from __future__ import annotations

from typing import Sequence

from transforms.protocols import ScoreRequest
from transforms.scorer.spec import ScorerSpec, aggregate, expand_steps, score_text, to_score


class HFScorer:
    """Scores requests with ``AutoModelForSequenceClassification`` in batches of ``spec.batch_size``."""

    def __init__(self, spec: ScorerSpec):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from transforms.policy.models import resolve_model

        path = resolve_model(spec.model)
        self.spec = spec = spec.for_folder(path)  # a trainer's folder declares activation and template
        self.model_id = spec.model
        self.tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer or path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        # Right padding keeps each text at positions 0..n-1, as when it is scored alone; the
        # classification head pools the last non-pad token (pad_token_id is set on the config below).
        self.tokenizer.padding_side = "right"
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModelForSequenceClassification.from_pretrained(path, dtype=getattr(torch, spec.dtype))
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()

    def score(self, requests: Sequence[ScoreRequest]) -> list[float]:
        flat, counts = expand_steps(requests, self.spec.aggregation)
        texts = [score_text(r, self.spec.template, self.tokenizer) for r in flat]
        scores: list[float] = []
        for start in range(0, len(texts), self.spec.batch_size):
            scores.extend(self._score_batch(texts[start:start + self.spec.batch_size]))
        return aggregate(scores, counts, self.spec.aggregation)

    def _score_batch(self, texts: list[str]) -> list[float]:
        import torch

        batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                               max_length=self.spec.max_model_len).to(self.device)
        with torch.inference_mode():
            logits = self.model(**batch).logits.float().cpu().tolist()
        return [to_score(row, self.spec.activation, self.spec.label) for row in logits]
