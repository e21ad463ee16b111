"""What the completions below each node of a stored tree ended in: the one pass every label reads.

A *completion* of a node is a terminal step at or below it (one stored rollout end). The counts
and distances here are all the label functions need, so each of them is a one-line formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.search.tree import Node, Tree


@dataclass(frozen=True)
class Outcomes:
    """Counted completions at or below a node, and the fewest steps down to one.

    ``to_correct``/``to_end`` are 0 when the node itself is a (correct) terminal, None when no such
    completion is below. Undecided terminals count as wrong or are skipped (``undecided`` option).
    """

    completions: int = 0
    correct: int = 0
    to_correct: int | None = None
    to_end: int | None = None

    @property
    def wrong(self) -> int:
        return self.completions - self.correct


def own_outcome(node: Node, undecided: str = "wrong") -> Outcomes:
    """The node's own contribution: one completion if it is a counted terminal step."""
    if not node.is_terminal:
        return Outcomes()
    equal = node.verdict.equal if node.verdict else None
    if equal is None and undecided == "skip":
        return Outcomes()
    if equal is True:
        return Outcomes(completions=1, correct=1, to_correct=0, to_end=0)
    return Outcomes(completions=1, correct=0, to_correct=None, to_end=0)


def _nearest(own: int | None, below: list[int | None]) -> int | None:
    candidates = ([own] if own is not None else []) + [d + 1 for d in below if d is not None]
    return min(candidates) if candidates else None


def combine(own: Outcomes, children: list[Outcomes]) -> Outcomes:
    return Outcomes(
        completions=own.completions + sum(c.completions for c in children),
        correct=own.correct + sum(c.correct for c in children),
        to_correct=_nearest(own.to_correct, [c.to_correct for c in children]),
        to_end=_nearest(own.to_end, [c.to_end for c in children]),
    )


def subtree_outcomes(tree: Tree, undecided: str = "wrong") -> dict[tuple[int, ...], Outcomes]:
    """Node path -> Outcomes of its subtree, for every node (one bottom-up pass)."""
    result: dict[tuple[int, ...], Outcomes] = {}
    # tree.nodes() is depth-first pre-order, so reversed it visits children before their parent.
    for node in reversed(tree.nodes()):
        result[node.path] = combine(own_outcome(node, undecided), [result[c.path] for c in node.children])
    return result
