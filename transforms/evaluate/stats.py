"""Confidence intervals and ROC AUC, as pure functions (tested with numbers worked by hand)."""

from __future__ import annotations

from math import sqrt
from statistics import NormalDist
from typing import Sequence

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Agresti & Coull 1998, Eq. 2).

    centre = (p + z^2 / 2n) / (1 + z^2 / n),  half = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).
    Unlike the normal ("Wald") interval it stays inside [0, 1] and is not empty at p = 0 or 1, which
    matters here: small evaluation slices with accuracies near 0 are the common case on CPU.
    ``trials == 0`` gives the uninformative (0, 1).
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    p, n, z2 = successes / trials, trials, z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At p = 0 (or 1) the bound is exactly 0 (or 1); don't let rounding leave 1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance that a random positive scores above a random negative,
    ties counting one half (the Mann-Whitney U statistic divided by n_pos * n_neg).

    Computed from mid-ranks in O(n log n). None when there are no positives or no negatives.
    """
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        mid_rank = (start + end) / 2 + 1  # ranks are 1-based; tied scores share their mean rank
        for i in order[start:end + 1]:
            ranks[i] = mid_rank
        start = end + 1
    rank_sum = sum(rank for rank, label in zip(ranks, labels) if label)
    u = rank_sum - positives * (positives + 1) / 2
    return u / (positives * negatives)
