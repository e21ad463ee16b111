"""Preference pairs from a stored tree: rStar-Math PPM step pairs, sibling step pairs (step-level
DPO) and full-solution pairs (correct vs incorrect traces).

Every rule ranks by the rule Q (``values.rule_q``): the search's stored Q when it set one, else Q
from terminal rewards, so best-of-n trees get pairs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from transforms.labels.options import PpmOptions, SiblingOptions, SolutionOptions
from transforms.labels.outcomes import Outcomes
from transforms.labels.traces import Trace, rank_key
from transforms.search.tree import Node, Tree

EDIT_DISTANCE_CAP = 64


@dataclass(frozen=True)
class Pair:
    kind: str
    branch: Node
    chosen: Node
    rejected: Node
    chosen_text: str
    rejected_text: str
    chosen_q: float
    rejected_q: float
    edit_distance: int
    pos_count: int | None = None
    neg_count: int | None = None

    @property
    def margin(self) -> float:
        return self.chosen_q - self.rejected_q


def edit_distance(a: str, b: str, cap: int = EDIT_DISTANCE_CAP) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``cap`` if it is ``cap`` or more.

    Banded: only cells with |i - j| < cap can hold a distance below cap, so this costs
    O(len(a) * cap) rather than O(len(a) * len(b)) -- step texts can be thousands of characters.
    """
    n, m = len(a), len(b)
    if cap <= 0:
        return 0
    if abs(n - m) >= cap:
        return cap
    prev = [min(j, cap) for j in range(m + 1)]
    for i in range(1, n + 1):
        lo, hi = max(1, i - cap + 1), min(m, i + cap - 1)
        cur = [cap] * (m + 1)
        cur[0] = min(i, cap)
        for j in range(lo, hi + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]), cap)
        if min(cur[lo - 1:hi + 1]) >= cap:  # every path to (n, m) crosses this row
            return cap
        prev = cur
    return prev[m]


def _step_pair(kind: str, branch: Node, chosen: Node, rejected: Node, q: dict, min_margin: float,
               min_edit: int, counts: tuple[int | None, int | None] = (None, None)) -> Pair | None:
    """A pair of two child steps of ``branch`` if it passes the margin and edit-distance rules."""
    if q[chosen.path] - q[rejected.path] < min_margin:
        return None
    distance = edit_distance(chosen.step_text, rejected.step_text, max(min_edit, EDIT_DISTANCE_CAP))
    if distance < min_edit:
        return None
    return Pair(kind, branch, chosen, rejected, chosen.step_text, rejected.step_text, q[chosen.path],
                q[rejected.path], distance, *counts)


def ppm_candidates(node: Node, outcomes: dict, q: dict, options: PpmOptions) -> tuple[list[Node], list[Node]]:
    """(positives, negatives) selected among ``node``'s children by the rStar-Math rule.

    Positives lead to a correct answer (a correct completion below); negatives lead only to wrong
    ones (completions below, none correct). Highest-Q positives and lowest-Q negatives first.
    """
    scored = [c for c in node.children if q[c.path] is not None]
    pos = sorted((c for c in scored if outcomes[c.path].correct), key=lambda c: (-q[c.path], c.path))
    neg = sorted((c for c in scored if outcomes[c.path].completions and not outcomes[c.path].correct),
                 key=lambda c: (q[c.path], c.path))
    # One side may take more when the other has a single candidate (more pairs from that node).
    n_pos = options.single_side_max if len(neg) == 1 else options.per_side
    n_neg = options.single_side_max if len(pos) == 1 else options.per_side
    return pos[:n_pos], neg[:n_neg]


def ppm_pairs(tree: Tree, outcomes: dict[tuple[int, ...], Outcomes], q: dict, options: PpmOptions) -> list[Pair]:
    """rStar-Math process-preference pairs (Guan et al. 2025, arXiv 2501.04519, §3.3).

    At every node with both a correct and a wrong completion below it, the 2 highest-Q children
    that lead to a correct answer are positives and the 2 lowest-Q children that lead to a wrong one
    are negatives; each positive x negative is a pair. The PPM loss, Eq. (4),
    L = -1/(2 x 2) E[log sigma(r(x, y_pos) - r(x, y_neg))], weights a pair by 1/(pos_count * neg_count),
    so both counts are recorded. The margin and edit-distance filters and the 'up to 4 when the other
    side has 1' rule are treemill options, not the paper's.
    """
    pairs = []
    for node in tree.nodes():
        o = outcomes[node.path]
        if not (o.correct and o.wrong):
            continue
        pos, neg = ppm_candidates(node, outcomes, q, options)
        for p, n in product(pos, neg):
            pair = _step_pair("ppm", node, p, n, q, options.min_margin, options.min_edit_distance, (len(pos), len(neg)))
            if pair:
                pairs.append(pair)
    return pairs


def sibling_pairs(tree: Tree, q: dict, options: SiblingOptions) -> list[Pair]:
    """Step-level DPO pairs from siblings: at every node, its highest-Q child vs its lowest-Q child.

    MCTS-DPO (Xie et al. 2024, arXiv 2405.00451), §2.2: the highest- and lowest-Q children of a node
    in the search tree form a step-level preference pair for the DPO loss (Rafailov et al. 2023,
    Eq. 7) applied per step, as in Step-DPO (Lai et al. 2024, arXiv 2406.18629, Eq. 3). Ties pick
    the first child in path order.
    """
    pairs = []
    for node in tree.nodes():
        scored = [c for c in node.children if q[c.path] is not None]
        if len(scored) < 2:
            continue
        best = min(scored, key=lambda c: (-q[c.path], c.path))
        worst = min(scored, key=lambda c: (q[c.path], c.path))
        if best is worst:  # every child has the same Q
            continue
        pair = _step_pair("sibling", node, best, worst, q, options.min_margin, options.min_edit_distance)
        if pair:
            pairs.append(pair)
    return pairs


def solution_pairs(tree: Tree, all_traces: list[Trace], options: SolutionOptions) -> list[Pair]:
    """Full-solution DPO pairs: a correct complete trace vs an incorrect one of the same problem.

    Iterative RPO (Pang et al. 2024, arXiv 2404.19733), §2, Eq. (1): pairs (y_w correct, y_l wrong)
    of whole chains of thought for one prompt. Correct traces are ranked best first and wrong ones
    worst first (mean Q, then min Q); the combinations with the smallest rank sum come first, up to
    ``max_pairs``. Q of a solution is its mean step Q.
    """
    good = sorted((t for t in all_traces if t.correct and t.scored), key=rank_key)
    bad = sorted((t for t in all_traces if t.counted and not t.correct and t.scored),
                 key=lambda t: rank_key(t, best_first=False))
    pairs = []
    for i, j in sorted(product(range(len(good)), range(len(bad))), key=lambda ij: (sum(ij), ij[0])):
        if len(pairs) == options.max_pairs:
            break
        pair = _solution_pair(tree, good[i], bad[j], options)
        if pair:
            pairs.append(pair)
    return pairs


def _solution_pair(tree: Tree, good: Trace, bad: Trace, options: SolutionOptions) -> Pair | None:
    if good.mean_q - bad.mean_q < options.min_margin:
        return None
    distance = edit_distance(good.text, bad.text, max(options.min_edit_distance, EDIT_DISTANCE_CAP))
    if distance < options.min_edit_distance:
        return None
    return Pair("solution", tree.root, good.leaf, bad.leaf, good.text, bad.text, good.mean_q, bad.mean_q, distance)
