"""Per-step label functions over a stored tree: Q from terminal rewards, Math-Shepherd estimates,
ReST-MCTS* quality values, and the float PRM label built from them.

All are pure functions of ``Outcomes`` (see ``transforms.labels.outcomes``) or of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.labels.outcomes import Outcomes
from transforms.search.tree import Node, Tree


def terminal_q(o: Outcomes) -> float | None:
    """Q(s) from terminal rewards: the mean of r in {+1, -1} over the completions below s.

    rStar-Math (Guan et al. 2025, arXiv 2501.04519), §3.2 terminal-guided annotation, Eq. (2):
    each rollout adds its terminal's q(s_d) = +1 (correct) or -1 (wrong) to every node on its path,
    q(s_i)^k = q(s_i)^{k-1} + q(s_d)^k, and Q(s) = q(s) / N(s). AlphaMath (Chen et al. 2024, arXiv
    2405.03553), §3: the value head is regressed onto the same Monte-Carlo estimate, the mean terminal
    reward r(s_T) in {+1, -1} of the rollouts through s. On a stored tree every terminal step is one
    rollout, so both are (correct - wrong) / completions. None when no completion is below.
    """
    return (o.correct - o.wrong) / o.completions if o.completions else None


def rule_q(node: Node, o: Outcomes) -> float | None:
    """The Q the pair and SFT rules use: the search's own Q when it stored one (MCTS W/N or an
    annotated Q), else ``terminal_q`` -- so best-of-n trees, which keep no visit statistics, still
    rank their steps and get pairs."""
    return node.q if node.q is not None else terminal_q(o)


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


def quality_step(v_prev: float, o: Outcomes) -> Quality | None:
    """One step of ReST-MCTS* (Zhang et al. 2024, arXiv 2406.03816, §3.1):

        w_{s_k} = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 r_{s_k})      (Eq. 1, weighted reward)
        v_k     = max(v_{k-1} + w_{s_k}, 0)                         (Eq. 2, quality value)

    r_{s_k} in {0, 1} is 0 for a correct step and 1 for a wrong one (so 1 - 2r is +1 or -1), and
    m_k, the reasoning distance, is the fewest steps from s_k to a correct answer. A correct final
    step has m_k = 0 and r = 0, so v_k = 1, as the paper requires. On a stored tree a step counts as
    correct when a correct completion is below it (the paper's inference from verified traces).
    Departure: the paper leaves m_k undefined when no correct answer is reachable; we use the
    distance to the nearest (wrong) terminal, so a wrong step is penalised more the closer it is to
    its wrong end. None when no completion is below (nothing to infer from).
    """
    if o.to_end is None:
        return None
    step_reward = 0 if o.to_correct is not None else 1
    distance = o.to_correct if step_reward == 0 else o.to_end
    weighted = (1.0 - v_prev) / (distance + 1) * (1 - 2 * step_reward)
    return Quality(distance, step_reward, weighted, max(v_prev + weighted, 0.0))


def rest_quality(tree: Tree, outcomes: dict[tuple[int, ...], Outcomes]) -> dict[tuple[int, ...], Quality | None]:
    """Step path -> ReST-MCTS* Quality for every step, top-down from v_0 = 0 at the root.

    A step below an unlabelled step stays unlabelled (v_{k-1} is unknown)."""
    values: dict[tuple[int, ...], float | None] = {(): 0.0}
    result: dict[tuple[int, ...], Quality | None] = {}
    for node in tree.nodes()[1:]:  # pre-order: every parent comes before its children
        v_prev = values[node.path[:-1]]
        quality = quality_step(v_prev, outcomes[node.path]) if v_prev is not None else None
        result[node.path] = quality
        values[node.path] = quality.value if quality else None
    return result


def prm_label(source: str, o: Outcomes, q: float | None, quality: Quality | None) -> float | None:
    """The float PRM label in [0, 1] named by ``source`` (option ``--step-prm-label``).

    Q is mapped from [-1, 1] to [0, 1] as (Q + 1) / 2; a stored search Q is assumed to lie in [-1, 1]
    (AlphaMath/rStar convention) and is clipped to it.
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
