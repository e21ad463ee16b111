"""Validation metrics of the step-level scorers (pure functions over plain lists)."""

from __future__ import annotations

import math
from typing import Sequence


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the probability that a random positive outscores a random
    negative, ties counting one half (the Mann-Whitney U statistic over average ranks).
    None when one class is missing."""
    n_pos = sum(1 for p in positive if p)
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):  # average rank over each run of tied scores
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positive) if p)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


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
