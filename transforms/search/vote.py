"""Answer selection over a stored tree's finished solutions: majority vote at k and weighted vote.

These run on a ``Tree`` (a fresh one or ``Tree.from_rows`` at label time), never inside a search:
which of a tree's answers to trust is a label-time decision. A *solution* is a terminal node whose
verifier extracted an answer; solutions are taken in tree order (depth first, child order), so
"at k" means the first k solutions, which for best-of-n are the first k samples.

Answers are grouped by the extracted answer string with whitespace removed (the verifier's
normalised form is not stored in the rows); pass ``key`` to group otherwise, e.g. with a verifier's
normaliser. Ties go to the answer seen first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from transforms.protocols import Scorer
from transforms.search.stepwise import score_requests
from transforms.search.tree import Node, Tree


@dataclass(frozen=True)
class VoteResult:
    """answer: the winning answer (None if no solution); correct: its verdict (None if undecided);
    support: votes (or weight) behind it; total: votes (or weight) cast; solutions: solutions counted."""

    answer: str | None
    correct: bool | None
    support: float
    total: float
    solutions: int


def compact(answer: str) -> str:
    """Default grouping key: the answer without whitespace."""
    return "".join(answer.split())


def solutions(tree: Tree, k: int | None = None) -> list[Node]:
    """The first ``k`` (all if None) terminal nodes with an extracted answer, in tree order."""
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    found = [n for n in tree.root.walk()
             if n.is_terminal and n.verdict is not None and n.verdict.extracted is not None]
    return found if k is None else found[:k]


def majority_vote(tree: Tree, k: int | None = None, key: Callable[[str], str] = compact) -> VoteResult:
    """maj@k: the answer most of the first k solutions give."""
    leaves = solutions(tree, k)
    return _tally(leaves, [1.0] * len(leaves), key)


def weighted_vote(tree: Tree, weights: Mapping[tuple[int, ...], float] | Callable[[Node], float],
                  k: int | None = None, key: Callable[[str], str] = compact) -> VoteResult:
    """The answer with the largest total weight over the first k solutions.

    ``weights`` maps a solution's path to its weight, or is a function of the node (e.g.
    ``lambda n: n.value_estimate`` for scores stored by the search). Weights must be >= 0 (use
    probabilities, not raw logits); a solution without a weight counts 0.
    """
    leaves = solutions(tree, k)
    get = weights if callable(weights) else (lambda n: weights.get(n.path))
    values = [float(get(n) or 0.0) for n in leaves]
    if any(v < 0 for v in values):
        raise ValueError("vote weights must be >= 0 (squash raw scorer logits, e.g. with a sigmoid)")
    return _tally(leaves, values, key)


def scorer_weights(tree: Tree, scorer: Scorer, k: int | None = None) -> dict[tuple[int, ...], float]:
    """Score each of the first k solutions with ``scorer`` in one call; weights by path for ``weighted_vote``."""
    leaves = solutions(tree, k)
    scores = scorer.score(list(score_requests(tree, leaves))) if leaves else []
    return {leaf.path: float(s) for leaf, s in zip(leaves, scores)}


def _tally(leaves: Sequence[Node], weights: Sequence[float], key: Callable[[str], str]) -> VoteResult:
    totals: dict[str, float] = {}
    first: dict[str, Node] = {}
    for leaf, weight in zip(leaves, weights):
        group = key(leaf.verdict.extracted)
        totals[group] = totals.get(group, 0.0) + weight
        first.setdefault(group, leaf)
    if not totals:
        return VoteResult(None, None, 0.0, 0.0, 0)
    winner = max(totals, key=lambda g: totals[g])  # max keeps the first of equal totals
    leaf = first[winner]
    return VoteResult(leaf.verdict.extracted, leaf.verdict.equal, totals[winner], sum(totals.values()), len(leaves))
