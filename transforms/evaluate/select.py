"""Picking one answer per problem from a searched (or stored) tree, for each evaluation method.

Pure functions of a ``Tree`` and, for scorer-based methods, precomputed scores by node path
(``prm``: the scorer on every step prefix; ``orm``: the outcome scorer on whole solutions, which is
the same scorer's last-step score unless a separate ORM is given). The pipeline collects the nodes
to score (``nodes_to_score``) for a whole batch and scores them in one call.

Aggregations of a solution's step scores s_1..s_T (Let's Verify Step by Step, Lightman et al.
2023, Sec. 2.6: the product "probability that every step is correct"; Math-Shepherd, Wang et al.
2024, Sec. 3.3: the minimum): min = min_t s_t, last = s_T, prod = prod_t s_t. Product and weighted
votes need scores in [0, 1] (a probability head, or ``--scorer-param activation=sigmoid``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from transforms.evaluate.methods import Method
from transforms.search.tree import Node, Tree
from transforms.search.vote import majority_vote, solutions, weighted_vote

Scores = Mapping[tuple[int, ...], float]


@dataclass(frozen=True)
class Choice:
    """answer: the selected answer (None if the tree holds none); correct: its verdict (undecided = False);
    considered: solutions the selection looked at; support: votes or score behind the answer."""

    answer: str | None
    correct: bool
    considered: int
    support: float | None = None


NO_ANSWER = Choice(None, False, 0)


def nodes_to_score(tree: Tree, methods: tuple[Method, ...]) -> tuple[list[Node], list[Node]]:
    """(step nodes for the PRM, solution leaves for the ORM) that ``methods`` need on this tree."""
    prm_k = max((m.k for m in methods if m.scoring and m.scoring.startswith("prm")), default=0)
    orm_k = max((m.k for m in methods if m.scoring == "orm"), default=0)
    steps: dict[tuple[int, ...], Node] = {}
    for leaf in (solutions(tree, prm_k) if prm_k else []):
        for node in leaf.ancestors():
            steps.setdefault(node.path, node)
    return list(steps.values()), (solutions(tree, orm_k) if orm_k else [])


def solution_score(leaf: Node, scoring: str, prm: Scores, orm: Scores) -> float:
    """One number per solution: the ORM score, or the step scores aggregated (see the module docstring)."""
    if scoring == "orm":
        return orm[leaf.path]
    steps = [prm[node.path] for node in leaf.ancestors()]
    if scoring == "prm-min":
        return min(steps)
    if scoring == "prm-last":
        return steps[-1]
    if scoring == "prm-prod":
        if any(not 0.0 <= s <= 1.0 for s in steps):
            raise ValueError("prm-prod needs step scores in [0, 1]; use a probability head or "
                             "--scorer-param activation=sigmoid")
        return math.prod(steps)
    raise ValueError(f"unknown scoring {scoring!r}")


def select(tree: Tree, method: Method, prm: Scores | None = None, orm: Scores | None = None) -> Choice:
    """The answer ``method`` picks from ``tree``."""
    prm, orm = prm or {}, orm or {}
    if method.selector == "first":
        return _pick(solutions(tree, 1), [1.0], 1)
    if method.selector == "majority":
        return _from_vote(majority_vote(tree, method.k))
    if method.selector == "pass":
        found = solutions(tree, method.k)
        hit = next((n for n in found if n.verdict.equal is True), found[0] if found else None)
        return NO_ANSWER if hit is None else Choice(hit.verdict.extracted, hit.verdict.equal is True, len(found))
    if method.selector == "best":
        found = solutions(tree, method.k)
        return _pick(found, [solution_score(n, method.scoring, prm, orm) for n in found], len(found))
    if method.selector == "vote":
        return _from_vote(weighted_vote(tree, lambda n: solution_score(n, method.scoring, prm, orm), method.k))
    if method.selector == "beam":
        return _best_q(tree, kept_only=True)
    if method.selector == "best_q":
        return _best_q(tree, kept_only=False)
    raise ValueError(f"unknown selector {method.selector!r}")


def _pick(candidates: list[Node], scores: list[float], considered: int) -> Choice:
    """The highest-scored candidate; ties go to the earlier one."""
    if not candidates:
        return NO_ANSWER
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    leaf = candidates[best]
    return Choice(leaf.verdict.extracted, leaf.verdict.equal is True, considered, scores[best])


def _from_vote(result) -> Choice:
    return Choice(result.answer, result.correct is True, result.solutions, result.support if result.answer else None)


def _best_q(tree: Tree, kept_only: bool) -> Choice:
    """The answered terminal with the highest Q.

    sbs (``kept_only``): among the solutions the beam kept (visits >= 1; Q = the score they were
    ranked by), falling back to every answered terminal if the beam kept none. mcts: among the
    evaluated terminals; with lambda = 0 their Q is the value model's, never the verifier's.
    """
    answered = [n for n in tree.root.walk()
                if n.is_terminal and n.verdict is not None and n.verdict.extracted is not None]
    kept = [n for n in answered if n.visits] if kept_only else [n for n in answered if n.q is not None]
    pool = kept or answered
    return _pick(pool, [n.q if n.q is not None else -math.inf for n in pool], len(pool))


def subtree_tokens(node: Node) -> int:
    return sum(n.num_tokens or 0 for n in node.walk())


def tokens_used(tree: Tree, method: Method, total: int | None = None) -> int:
    """Tokens generated for ``method``'s answer: for @K methods over a shared best-of-n tree, those of
    the samples up to the K-th answered solution (samples are the root's children, in order); else
    ``total`` (the search's own count, which includes dropped duplicate steps) or the tree's."""
    if method.k is None or not method.shares_samples:
        return total if total is not None else subtree_tokens(tree.root)
    tokens, answered = 0, 0
    for sample in tree.root.children:
        if answered >= method.k:
            break
        tokens += subtree_tokens(sample)
        answered += sum(1 for n in sample.walk()
                        if n.is_terminal and n.verdict is not None and n.verdict.extracted is not None)
    return tokens
