"""Accuracy against search budget from stored best-of-N leaves: pass@k and majority@k, k = 1..N.

The curve uses ONE definition for both: the first k leaves in sample (path) order, the k leaves a
run with budget k would have drawn. (Mixing the unbiased pass@k estimator, an average over all
k-subsets, with majority@k in sample order let maj@1 exceed pass@1 on the same leaves.)
``pass_at_k`` is Chen et al.'s unbiased estimator, kept for comparisons over all orders.
"""

from __future__ import annotations

from collections import Counter
from math import comb

SAMPLE_ORDER_NOTE = "both over the first k leaves in sample order"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, arXiv 2107.03374,
    Eq. 1): 1 - C(n - c, k) / C(n, k), the chance that k samples drawn without replacement hold a
    correct one."""
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_in_order(leaves: list[tuple[str | None, bool]], k: int) -> bool:
    """Whether one of the first k leaves (answer, correct) is correct: pass@k of a run that drew k."""
    return any(correct for _, correct in leaves[:k])


def majority_at_k(leaves: list[tuple[str | None, bool]], k: int) -> bool:
    """Whether a majority vote over the first k leaves (answer, correct) picks a correct answer.

    Samples are drawn independently, so the first k are an unbiased draw of k; averaged over
    problems this estimates maj@k (self-consistency, Wang et al. 2022, arXiv 2203.11171). Leaves
    without an answer do not vote; ties go to the answer seen first.
    """
    votes = [(answer, correct) for answer, correct in leaves[:k] if answer is not None]
    if not votes:
        return False
    counts = Counter(answer for answer, _ in votes)
    top = max(counts.values())
    winner = next(answer for answer, _ in votes if counts[answer] == top)
    return any(correct for answer, correct in votes if answer == winner)


def budget_curve(problems: list[list[tuple[str | None, bool]]]) -> list[tuple[int, float, float]]:
    """(k, mean pass@k, mean maj@k) for k = 1..N over problems with at least k leaves each, both
    from the first k leaves in sample order, so maj@k <= pass@k always holds.

    ``problems`` holds each problem's leaves in sample (path) order as (extracted answer, correct).
    """
    longest = max((len(p) for p in problems), default=0)
    curve = []
    for k in range(1, longest + 1):
        eligible = [p for p in problems if len(p) >= k]
        passed = sum(pass_in_order(p, k) for p in eligible)
        voted = sum(majority_at_k(p, k) for p in eligible)
        curve.append((k, passed / len(eligible), voted / len(eligible)))
    return curve
