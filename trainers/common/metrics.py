"""Validation metrics of the step-level scorers (pure functions over plain lists)."""

from __future__ import annotations

import math
from typing import Sequence

# One ROC AUC for the whole project (evaluate prm uses it too): re-exported for the trainers.
from transforms.evaluate.stats import roc_auc  # noqa: F401


def mse(predictions: Sequence[float], targets: Sequence[float]) -> float:
    return sum((p - t) ** 2 for p, t in zip(predictions, targets)) / len(targets) if targets else math.nan


def threshold_accuracy(predictions: Sequence[float], targets: Sequence[float], threshold: float = 0.5) -> float:
    """Share of steps on the same side of ``threshold`` as their (possibly soft) target."""
    if not targets:
        return math.nan
    return sum((p >= threshold) == (t >= threshold) for p, t in zip(predictions, targets)) / len(targets)


def sign_accuracy(predictions: Sequence[float], targets: Sequence[float]) -> float:
    """Share of steps whose predicted value has the sign of its target (targets of 0 are left out)."""
    pairs = [(p, t) for p, t in zip(predictions, targets) if t != 0]
    if not pairs:
        return math.nan
    return sum((p > 0) == (t > 0) for p, t in pairs) / len(pairs)
