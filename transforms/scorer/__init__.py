"""Scorer backends (value models, PRMs, PPMs): transformers sequence classifiers and vLLM pooling.

``shared_scorer(spec)`` returns one model per process for a given spec (Beam's ``Shared``), like
``transforms.policy.shared_policy`` does for the policy.
"""

from __future__ import annotations

from apache_beam.utils import shared

from transforms.scorer.spec import ACTIVATIONS, SCORER_BACKENDS, TEMPLATES, ScorerSpec, score_text, to_score

# One handle for scorers: kept alive between bundles and pipeline runs in this process; the tag
# (the spec's digest) makes a different spec load a new model.
_SCORER_HANDLE = shared.Shared()


def build_scorer(spec: ScorerSpec):
    """Construct the backend named by ``spec`` (expensive: loads a model)."""
    if spec.backend == "vllm":
        from transforms.scorer.vllm_backend import VLLMScorer

        return VLLMScorer(spec)
    from transforms.scorer.hf_backend import HFScorer

    return HFScorer(spec)


def shared_scorer(spec: ScorerSpec):
    """The per-process scorer for ``spec``, built on first use."""
    return _SCORER_HANDLE.acquire(lambda: build_scorer(spec), tag=spec.key())


__all__ = ["ACTIVATIONS", "SCORER_BACKENDS", "TEMPLATES", "ScorerSpec", "build_scorer", "score_text",
           "shared_scorer", "to_score"]
