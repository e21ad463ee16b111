"""Preference pairs from a stored tree: rStar-Math PPM step pairs, sibling step pairs (step-level
DPO) and full-solution pairs (correct vs incorrect traces).

Every rule ranks by the rule Q (``values.rule_q``): the search's stored Q where it estimates the
terminal reward (rStar/AlphaMath MCTS), else Q from terminal rewards, so every tree gets pairs.
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


def _leads_to_correct(o: Outcomes) -> bool:
    return o.correct > 0


def _leads_to_wrong(o: Outcomes, negatives: str) -> bool:
    """only_wrong: completions below and none correct; any_wrong: some completion below is wrong."""
    return o.wrong > 0 and (negatives == "any_wrong" or o.correct == 0)


def ppm_candidates(node: Node, outcomes: dict, q: dict, options: PpmOptions) -> tuple[list[Node], list[Node]]:
    """(positives, negatives) selected among ``node``'s children by the rStar-Math rule.

    Positives lead to a correct answer (a correct completion below); negatives lead to wrong ones
    (``options.negatives``). Highest-Q positives and lowest-Q negatives first. A step with no counted
    completion below (a failed code step under ``code_errors=skip``) is neither.
    """
    scored = [c for c in node.children if q[c.path] is not None]
    pos = sorted((c for c in scored if _leads_to_correct(outcomes[c.path])), key=lambda c: (-q[c.path], c.path))
    neg = sorted((c for c in scored if _leads_to_wrong(outcomes[c.path], options.negatives)),
                 key=lambda c: (q[c.path], c.path))
    # One side may take more when the other has a single candidate (more pairs from that node).
    n_pos = options.single_side_max if len(neg) == 1 else options.per_side
    n_neg = options.single_side_max if len(pos) == 1 else options.per_side
    return pos[:n_pos], neg[:n_neg]


def continuation_mean_q(node: Node, outcomes: dict, q: dict, best: bool) -> float:
    """Mean Q along ``node``'s best (or worst) continuation down to a leaf.

    rStar-Math released code (``extra_rm_file.build_partial_solution``): from the step, repeatedly
    take the highest-Q child that leads to a correct answer (best) or the lowest-Q child that leads to
    a wrong one (worst), and average Q over the chain, the step included.
    """
    chain = [node]
    while True:
        if best:
            steps = [c for c in chain[-1].children if q[c.path] is not None and _leads_to_correct(outcomes[c.path])]
        else:
            steps = [c for c in chain[-1].children if q[c.path] is not None and outcomes[c.path].wrong > 0]
        if not steps:
            break
        sign = -1 if best else 1  # ties: the first child, as the code's stable sort
        chain.append(min(steps, key=lambda c: (sign * q[c.path], c.path)))
    return sum(q[n.path] for n in chain) / len(chain)


def ppm_pairs(tree: Tree, outcomes: dict[tuple[int, ...], Outcomes], q: dict, options: PpmOptions) -> list[Pair]:
    """rStar-Math process-preference pairs (Guan et al. 2025, arXiv 2501.04519, §3.3; released code
    ``extra_rm_file.search_all_traces`` and ``train/sample_rm_data.py``).

    At every node with both a correct and a wrong completion below it, the 2 highest-Q children
    that lead to a correct answer are positives and the 2 lowest-Q children that lead to a wrong one
    are negatives; each positive x negative is a pair. The PPM loss, Eq. (4),
    L = -1/(2 x 2) E[log sigma(r(x, y_pos) - r(x, y_neg))], weights a pair by 1/(pos_count * neg_count),
    so both counts are recorded. From the released code: one side takes up to 4 when the other has a
    single candidate; a pair needs the positive's best continuation to average a higher Q than the
    negative's worst one (``continuation_check``), a Q margin >= 0.5 and step texts >= 20 character
    edits apart; the code's negatives are any child with a wrong completion below
    (``negatives=any_wrong``), treemill's default keeps the paper's "leads only to wrong answers".
    """
    pairs = []
    for node in tree.nodes():
        o = outcomes[node.path]
        if not (o.correct and o.wrong):
            continue
        pos, neg = ppm_candidates(node, outcomes, q, options)
        for p, n in product(pos, neg):
            if options.continuation_check and not (continuation_mean_q(p, outcomes, q, best=True)
                                                   > continuation_mean_q(n, outcomes, q, best=False)):
                continue
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
    """Pairs of whole solutions: a correct complete trace vs an incorrect one of the same problem.

    ``mode=rstar`` (default): rStar-Math's final-step pairs (arXiv 2501.04519, §3.3: "for the final
    answer step ... we select two correct trajectories with the highest average Q-values as positive
    examples and two incorrect trajectories with the lowest average Q-values as negative examples"):
    the ``per_side`` best correct traces x the ``per_side`` worst incorrect ones by mean Q (then min Q),
    every combination, weighted 1/(pos_count * neg_count) like the step pairs. The released code has
    no such extraction. ``mode=ranked``: Iterative RPO (Pang et al. 2024, arXiv 2404.19733, §2,
    Eq. 1) style: up to ``max_pairs`` combinations, smallest rank sum first.
    """
    good = sorted((t for t in all_traces if t.correct and t.scored), key=rank_key)
    bad = sorted((t for t in all_traces if t.counted and not t.correct and t.scored),
                 key=lambda t: rank_key(t, best_first=False))
    if options.mode == "rstar":
        good, bad = good[:options.per_side], bad[:options.per_side]
        candidates = [_solution_pair(tree, g, b, options, (len(good), len(bad))) for g, b in product(good, bad)]
        return [p for p in candidates if p]
    pairs = []
    for i, j in sorted(product(range(len(good)), range(len(bad))), key=lambda ij: (sum(ij), ij[0])):
        if len(pairs) == options.max_pairs:
            break
        pair = _solution_pair(tree, good[i], bad[j], options)
        if pair:
            pairs.append(pair)
    return pairs


def _solution_pair(tree: Tree, good: Trace, bad: Trace, options: SolutionOptions,
                   counts: tuple[int | None, int | None] = (None, None)) -> Pair | None:
    if good.mean_q - bad.mean_q < options.min_margin:
        return None
    distance = edit_distance(good.text, bad.text, max(options.min_edit_distance, EDIT_DISTANCE_CAP))
    if distance < options.min_edit_distance:
        return None
    return Pair("solution", tree.root, good.leaf, bad.leaf, good.text, bad.text, good.mean_q, bad.mean_q, distance,
                *counts)
