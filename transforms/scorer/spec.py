"""ScorerSpec: the picklable description of a scorer backend (DoFns store this, never a model).

A scorer (value model, PRM, PPM) maps (question, partial solution) to one number. Both backends load
a sequence-classification checkpoint, read its logits for the scored text, and turn them into a
score the same way (``to_score``), so the two backends agree on the same model.

A folder written by a treemill trainer (``trainers/``) says what it is: its config.json carries
``treemill_scorer`` = {kind, activation, template}. ``ScorerSpec.for_folder`` fills a spec's ``auto``
activation and template from it, so ``--scorer-model OUT`` needs no other flag.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

from transforms.protocols import ScoreRequest
from transforms.step_formats.text import STEP_SEPARATOR

SCORER_BACKENDS = ("vllm", "transformers")
ACTIVATIONS = ("auto", "none", "sigmoid", "tanh", "softmax")
TEMPLATES = ("auto", "plain", "chat", "prompt")
AGGREGATIONS = ("last", "min", "product")
FOLDER_KEY = "treemill_scorer"  # config.json key a trainer writes (kind, activation, template)


@dataclass(frozen=True)
class ScorerSpec:
    """Which classification model scores partial solutions, and how its logits become a score.

    activation: ``auto`` is what the model folder declares (``treemill_scorer``), else the raw
    logit for a one-label head (a reward/value head) and the softmax probability of ``label`` for a
    multi-label head; ``sigmoid``/``tanh`` squash a one-label head; ``none`` is the raw logit of ``label``.
    template: ``auto`` is what the folder declares, else ``plain``. ``plain`` scores ``question +
    blank line + steps joined by blank lines``; ``chat`` puts the question in a user turn and the
    steps in an assistant turn with the tokenizer's chat template (for value models trained on chat
    transcripts); ``prompt`` is the policy's own context: the chat template's open assistant turn
    (the generation prompt) followed by the steps (AlphaMath's value head shares the policy's input).
    aggregation: how a step-level scorer (PRM) scores a solution: ``last`` = the score of the whole
    text (the score at its last step); ``min`` / ``product`` score every prefix (each step's end)
    and take the minimum / product, the choices of Let's Verify Step by Step (Lightman et al. 2023).
    """

    model: str
    backend: str = "transformers"
    dtype: str = "bfloat16"
    max_model_len: int = 4096
    kv_cache_gb: float = 0.5
    batch_size: int = 16
    seed: int = 0
    activation: str = "auto"
    label: int = -1
    template: str = "auto"
    tokenizer: str | None = None
    aggregation: str = "last"

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("a scorer needs a model (local folder or hub id)")
        if self.backend not in SCORER_BACKENDS:
            raise ValueError(f"unknown scorer backend {self.backend!r}; choose one of {', '.join(SCORER_BACKENDS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown scorer activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.template not in TEMPLATES:
            raise ValueError(f"unknown scorer template {self.template!r}; choose one of {', '.join(TEMPLATES)}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown scorer aggregation {self.aggregation!r}; choose one of {', '.join(AGGREGATIONS)}")
        if self.batch_size < 1:
            raise ValueError(f"scorer batch_size must be >= 1, got {self.batch_size}")
        if self.max_model_len < 64:
            raise ValueError(f"scorer max_model_len must be >= 64, got {self.max_model_len}")
        if self.kv_cache_gb <= 0:
            raise ValueError(f"scorer kv_cache_gb must be > 0, got {self.kv_cache_gb}")

    def key(self) -> str:
        """A digest of every setting: two specs with the same key can share one model."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def for_folder(self, path: str) -> "ScorerSpec":
        """This spec with ``auto`` activation/template taken from the folder's ``treemill_scorer``."""
        declared = folder_scorer_config(path)
        changes = {name: declared[name] for name in ("activation", "template")
                   if getattr(self, name) == "auto" and declared.get(name)}
        if self.template == "auto" and "template" not in changes:
            changes["template"] = "plain"
        return replace(self, **changes)


def folder_scorer_config(path: str) -> dict:
    """The ``treemill_scorer`` entry of a local model folder's config.json ({} if none)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return {}
    return dict(json.loads(config.read_text()).get(FOLDER_KEY) or {})


def expand_steps(requests: Sequence[ScoreRequest], aggregation: str) -> tuple[list[ScoreRequest], list[int]]:
    """The requests to score for ``aggregation`` and how many belong to each original request:
    ``last`` scores each request as is; ``min``/``product`` score every step prefix of it."""
    if aggregation == "last":
        return list(requests), [1] * len(requests)
    flat, counts = [], []
    for request in requests:
        prefixes = [ScoreRequest(request.question, request.steps[:k]) for k in range(1, len(request.steps) + 1)]
        flat.extend(prefixes or [request])
        counts.append(len(prefixes) or 1)
    return flat, counts


def aggregate(scores: Sequence[float], counts: Sequence[int], aggregation: str) -> list[float]:
    """One score per original request from ``expand_steps``'s scores (see ``ScorerSpec.aggregation``)."""
    out, start = [], 0
    for count in counts:
        part = scores[start:start + count]
        start += count
        out.append(part[-1] if aggregation == "last" else min(part) if aggregation == "min" else math.prod(part))
    return out


def score_text(request: ScoreRequest, template: str, tokenizer=None) -> str:
    """The text a scorer reads for one request (see ``ScorerSpec.template``)."""
    solution = STEP_SEPARATOR.join(request.steps)
    if template == "prompt":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("the 'prompt' scorer template needs a tokenizer with a chat template")
        from transforms.policy.vllm_backend import chat_prompt

        return chat_prompt(tokenizer, request.question) + solution
    if template == "chat" and tokenizer is not None and getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": request.question}, {"role": "assistant", "content": solution}]
        return tokenizer.apply_chat_template(messages, tokenize=False)
    return request.question + STEP_SEPARATOR + solution if solution else request.question


def to_score(logits: Sequence[float], activation: str = "auto", label: int = -1) -> float:
    """One score from a classification head's logits (see ``ScorerSpec.activation``)."""
    if not logits:
        raise ValueError("the scorer returned no logits")
    if activation == "auto":
        activation = "none" if len(logits) == 1 else "softmax"
    if activation == "softmax":
        top = max(logits)
        weights = [math.exp(x - top) for x in logits]
        return weights[label] / sum(weights)
    value = float(logits[label])
    if activation == "sigmoid":
        return 1.0 / (1.0 + math.exp(-value))
    if activation == "tanh":
        return math.tanh(value)
    return value
