"""What the completions below each node of a stored tree ended in: the one pass every label reads.

A *completion* of a node is a counted terminal step at or below it (one stored rollout end). The
counts and distances here are all the label functions need, so each of them is a one-line formula.

Which terminal steps count, and as what (``StepOptions``; docs/labels.md has the table):

- verified correct: +1; verified wrong: -1.
- unfinished (verdict method in ``schemas.UNFINISHED_METHODS``: cut at the depth or token limit, or
  empty): wrong, -1, by default, as AlphaMath (Super_MARIO backs up the negative reward for
  TOO_MANY_STEPS) and rStar-Math (the search gives it the negative reward) do; ``unfinished=skip``
  leaves them out, as rStar-Math's released pair and SFT extraction does.
- code failures (the step's code did not run cleanly, or verdict method in
  ``schemas.CODE_FAILURE_METHODS``): left out by default -- rStar-Math keeps only steps whose code
  runs -- together with every step below them; ``code_errors=wrong`` keeps them as explicit
  negatives (-1).
- any other terminal without a verdict (no answer, verifier timeout): per ``undecided``.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import CODE_FAILURE_METHODS, UNFINISHED_METHODS
from transforms.labels.options import StepOptions
from transforms.search.tree import Node, Tree

CLEAN_EXEC = (None, "ok")


@dataclass(frozen=True)
class Outcomes:
    """Counted completions at or below a node, and the fewest steps down to one.

    ``to_correct``/``to_end`` are 0 when the node itself is a (correct) terminal, None when no such
    completion is below.
    """

    completions: int = 0
    correct: int = 0
    to_correct: int | None = None
    to_end: int | None = None

    @property
    def wrong(self) -> int:
        return self.completions - self.correct


def code_failed(node: Node) -> bool:
    """The step's code did not run cleanly, or the step did not parse (code mode)."""
    method = node.verdict.method if node.verdict else None
    return node.exec_status not in CLEAN_EXEC or method in CODE_FAILURE_METHODS


def unfinished(node: Node) -> bool:
    """A terminal step that ended the branch without an answer: depth or token limit, or empty."""
    return bool(node.verdict) and node.verdict.equal is None and node.verdict.method in UNFINISHED_METHODS


def terminal_reward(node: Node, rules: StepOptions = StepOptions()) -> float | None:
    """r of a terminal step as the labels count it: +1, -1, or None (left out). See the module docstring."""
    if not node.is_terminal:
        return None
    if code_failed(node):
        return -1.0 if rules.code_errors == "wrong" else None
    equal = node.verdict.equal if node.verdict else None
    if equal is not None:
        return 1.0 if equal else -1.0
    policy = rules.unfinished if unfinished(node) else rules.undecided
    return -1.0 if policy == "wrong" else None


def excluded(tree: Tree, rules: StepOptions = StepOptions()) -> set[tuple[int, ...]]:
    """Paths of steps left out of every label: failed code steps and all below them (code_errors=skip)."""
    if rules.code_errors != "skip":
        return set()
    out: set[tuple[int, ...]] = set()
    for node in tree.nodes():  # pre-order: a parent is decided before its children
        if node.path[:-1] in out or (node.parent is not None and code_failed(node)):
            out.add(node.path)
    return out


def own_outcome(node: Node, rules: StepOptions = StepOptions()) -> Outcomes:
    """The node's own contribution: one completion if it is a counted terminal step."""
    reward = terminal_reward(node, rules)
    if reward is None:
        return Outcomes()
    if reward > 0:
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


def subtree_outcomes(tree: Tree, rules: StepOptions = StepOptions()) -> dict[tuple[int, ...], Outcomes]:
    """Node path -> Outcomes of its subtree, for every node (one bottom-up pass).

    Excluded steps (``excluded``) get empty Outcomes and add nothing to their ancestors."""
    left_out = excluded(tree, rules)
    result: dict[tuple[int, ...], Outcomes] = {}
    # tree.nodes() is depth-first pre-order, so reversed it visits children before their parent.
    for node in reversed(tree.nodes()):
        if node.path in left_out:
            result[node.path] = Outcomes()
            continue
        result[node.path] = combine(own_outcome(node, rules), [result[c.path] for c in node.children])
    return result
