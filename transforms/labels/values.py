"""Per-step label functions over a stored tree: Q from terminal rewards, the rule Q (the search's
own Q where it is a terminal-reward estimate), Math-Shepherd estimates, ReST-MCTS* quality values,
and the float PRM label built from them.

All are pure functions of ``Outcomes`` (see ``transforms.labels.outcomes``) or of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import TERMINAL_REWARD_Q
from transforms.labels.outcomes import Outcomes
from transforms.search.tree import Node, Tree


def terminal_q(o: Outcomes) -> float | None:
    """Q(s) from terminal rewards: the mean of r in {+1, -1} over the stored completions below s.

    This is rStar-Math's terminal-guided Q (Guan et al. 2025, arXiv 2501.04519, §3.2, Eq. 2:
    q(s_i)^k = q(s_i)^{k-1} + q(s_d)^k, Q = q / N) evaluated on the stored tree, where every
    terminal step is counted once: (correct - wrong) / completions. It is NOT the number the search
    stored: the search's N counts rollouts, and a terminal reached by several rollouts (or a node
    initialised from the PPM, q^0) weighs differently there; that number is ``q_search``. Nor is it
    AlphaMath's value target, which is the MCTS Q-hat of the edge (Chen et al. 2024, arXiv
    2405.03553, §3), a mean of backed-up (1 - lambda) V_phi + lambda r -- also ``q_search``.
    None when no completion is below.
    """
    return (o.correct - o.wrong) / o.completions if o.completions else None


def trusts_search_q(search: str | None, q_source: str = "auto") -> bool:
    """Whether ``search`` stores a Q that estimates the terminal reward on the +-1 scale
    (``schemas.TERMINAL_REWARD_Q``: rStar-Math's Q, AlphaMath's Q-hat). Other searches store a
    ranking score or ReST-MCTS*'s V in [0, 1] (see schemas/nodes.py), so their Q is not comparable."""
    return q_source == "auto" and search in TERMINAL_REWARD_Q


def rule_q(node: Node, o: Outcomes, trust_search: bool = False, left_out: bool = False) -> float | None:
    """The Q the pair and SFT rules use: the search's stored Q where ``trust_search`` (see
    ``trusts_search_q``) and the search evaluated the step -- AlphaMath's Q-hat is a value target
    even before a terminal is reached below -- else ``terminal_q``. None for a step left out of the
    labels (``outcomes.excluded``: a failed code step and what is below it)."""
    if left_out:
        return None
    if trust_search and node.q is not None:
        return node.q
    return terminal_q(o)


def shepherd_hard(o: Outcomes) -> float | None:
    """Math-Shepherd hard estimate (Wang et al. 2023, arXiv 2312.08935, §3.3 Eq. 3):
    y_HE = 1 if any completion a_j below the step reaches the gold answer a*, else 0."""
    return float(o.correct > 0) if o.completions else None


def shepherd_soft(o: Outcomes) -> float | None:
    """Math-Shepherd soft estimate (arXiv 2312.08935, §3.3 Eq. 4): y_SE = sum_j I(a_j = a*) / N,
    the fraction of the N completions below the step that reach the gold answer."""
    return o.correct / o.completions if o.completions else None


@dataclass(frozen=True)
class Quality:
    """ReST-MCTS* quantities of one step: m_k, r_{s_k}, w_{s_k} and v_k."""

    distance: int
    step_reward: int
    weighted_reward: float
    value: float


def quality_step(v_prev: float, distance: int, on_route: bool) -> Quality:
    """One step of ReST-MCTS* (Zhang et al. 2024, arXiv 2406.03816, §3.1):

        w_{s_k} = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 r_{s_k})      (Eq. 1, weighted reward)
        v_k     = max(v_{k-1} + w_{s_k}, 0)                         (Eq. 2, quality value)

    r_{s_k} is 0 for a step on a route to a correct answer and 1 otherwise (so 1 - 2r is +1 or -1);
    m_k, the reasoning distance, is the fewest steps from s_k to a correct answer for an on-route
    step and, for an off-route step, that of its nearest on-route ancestor (the paper's Figure 2:
    the wrong Step 3 below Step 2 takes Step 2's m = 1; released code ``get_full_value_samples_vm``).
    A correct final step has m_k = 0 and r = 0, so v_k = 1, as the paper requires.
    """
    step_reward = 0 if on_route else 1
    weighted = (1.0 - v_prev) / (distance + 1) * (1 - 2 * step_reward)
    return Quality(distance, step_reward, weighted, max(v_prev + weighted, 0.0))


def rest_quality(tree: Tree, outcomes: dict[tuple[int, ...], Outcomes]) -> dict[tuple[int, ...], Quality | None]:
    """Step path -> ReST-MCTS* Quality for every step, top-down from v_0 = 0 at the root.

    A step is on-route when a counted correct completion is below it. None (no label) where the
    paper defines none: in a tree without a correct answer (no m_k at all; the released code makes
    no samples there), for a step with no counted completion below (nothing to infer from), and
    below an unlabelled step (v_{k-1} unknown).
    """
    result: dict[tuple[int, ...], Quality | None] = {}
    # (v_{k-1}, m of the nearest on-route ancestor) per node; the root is on-route iff any answer is correct.
    state: dict[tuple[int, ...], tuple[float, int] | None] = {(): (0.0, outcomes[()].to_correct)
                                                              if outcomes[()].to_correct is not None else None}
    for node in tree.nodes()[1:]:  # pre-order: every parent comes before its children
        parent, o = state[node.path[:-1]], outcomes[node.path]
        if parent is None or not o.completions:
            result[node.path], state[node.path] = None, None
            continue
        on_route = o.to_correct is not None
        distance = o.to_correct if on_route else parent[1]
        quality = quality_step(parent[0], distance, on_route)
        result[node.path], state[node.path] = quality, (quality.value, distance)
    return result


def prm_label(source: str, o: Outcomes, q: float | None, quality: Quality | None) -> float | None:
    """The float PRM label in [0, 1] named by ``source`` (option ``--step-prm-label``).

    Q is mapped from [-1, 1] to [0, 1] as (Q + 1) / 2; ``q`` is the rule Q, on the +-1 scale (a
    trusted search Q from rStar/AlphaMath may exceed it by float error or a raw PPM init: clipped).
    """
    if source == "soft":
        return shepherd_soft(o)
    if source == "hard":
        return shepherd_hard(o)
    if source == "rest":
        return quality.value if quality else None
    if source == "q":
        return None if q is None else (min(max(q, -1.0), 1.0) + 1.0) / 2.0
    raise ValueError(f"unknown PRM label {source!r}")
