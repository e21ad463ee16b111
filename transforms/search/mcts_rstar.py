"""MCTS as in rStar-Math (Guan et al., arXiv 2501.04519), registered as ``mcts-rstar``.

A rollout (paper §3.1, "step-by-step verified reasoning trajectory"): starting at the root, pick a
child by UCT (paper Eq. 2)::

    UCT(s) = Q(s) + c * sqrt(ln N_parent(s) / N(s)),      Q(s) = q(s) / N(s)

expanding a node (``n`` sampled single steps) whenever the walk reaches one without children, and
go on until the walk reaches a terminal node. That node is verified; its reward q(s_d) = +1 if the
answer is correct else -1 is added to every node on the path (terminal-guided annotation, paper
Eq. 1: ``q(s_i)^k = q(s_i)^{k-1} + q(s_d)^k``) and N += 1 along the path. So every rollout runs to a
terminal node (the simulation phase that rStar#37 found missing in the code) and annotates exactly
one path.

An unvisited child has UCT = +inf (visited first, in child order); ``ln N_parent`` is clamped at 0
so a parent seen once gives no exploration bonus rather than a math error.

PPM-augmented variant (``ppm=true``; paper §3.3, self-evolution rounds 3-4): every new
non-terminal node's q is initialised from the scorer, ``q(s)^0 = PPM(s)``, squashed by tanh into
[-1, 1] (``ppm_squash``): the paper's PPM applies tanh to its reward head at inference only
(rStar#12), so a scorer returning raw head outputs needs it; use ``ppm_squash=none`` for a scorer
already in [-1, 1]. As in the released code (``candidate_node.update(value_estimate)``), the
initial value counts as one visit of that node only (not of its ancestors), so
Q = (q^0 + sum of rewards) / (1 + rollouts through it).

Departures: ``rollouts`` (8 in round 1 per the paper) counts terminal annotations, not loop turns
(the released config runs 48 iterations, rStar#26); evaluated terminal nodes and fully explored
subtrees are skipped by selection, so no rollout re-annotates a known outcome; ties go to the first
child; duplicate sibling steps are dropped (``dedup``). Code-augmented steps (the paper's
code-augmented CoT) run only when the run is in code mode (``SearchEnv.step_format``, see
``transforms.search.code_mode``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator
from transforms.search.stepwise import (
    add_steps, backup, best_child, check_positive, score_requests, step_request, terminal_reward,
)
from transforms.search.tree import Node, Tree

PPM_SQUASH = ("tanh", "none")


@dataclass(frozen=True)
class RStarConfig:
    """rollouts: terminal annotations per problem; n: steps sampled per expansion; c: UCT weight;
    max_depth: steps at which a solution is cut; ppm: initialise Q from the scorer (PPM);
    ppm_squash: tanh or none on the scorer output; temperature/top_p/max_tokens: one step's sampling."""

    rollouts: int = 8
    n: int = 12
    c: float = 2.0
    max_depth: int = 16
    ppm: bool = False
    ppm_squash: str = "tanh"
    positive_reward: float = 1.0
    negative_reward: float = -1.0
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True

    def __post_init__(self) -> None:
        check_positive(rollouts=self.rollouts, n=self.n, max_depth=self.max_depth, max_tokens=self.max_tokens)
        if self.c < 0:
            raise ValueError(f"c must be >= 0, got {self.c}")
        if self.ppm_squash not in PPM_SQUASH:
            raise ValueError(f"ppm_squash must be one of {', '.join(PPM_SQUASH)}, got {self.ppm_squash!r}")

    @property
    def needs_scorer(self) -> bool:
        return self.ppm


PRESETS = {
    "rstar-round1": Preset.of(
        "rStar-Math round 1 (terminal-guided annotation, no PPM): c = 2 and 8 rollouts from the paper; 12 "
        "samples per step, depth 16 and temperature 0.7 from the released sample_mcts.yaml (which runs "
        "48 iterations, not 8).",
        rollouts=8, n=12, c=2.0, max_depth=16, ppm=False, temperature=0.7),
    "rstar-ppm": Preset.of(
        "rStar-Math rounds 3-4: PPM-augmented MCTS (Q initialised from the scorer, tanh), 16 rollouts; "
        "needs --scorer-model.",
        rollouts=16, n=12, c=2.0, max_depth=16, ppm=True, temperature=0.7),
}


def uct(child: Node, c: float) -> float:
    """Q(s) + c * sqrt(ln N_parent(s) / N(s)) (rStar-Math Eq. 2); +inf for an unvisited child."""
    if child.visits == 0:
        return math.inf
    log_parent = math.log(child.parent.visits) if child.parent.visits > 1 else 0.0
    return child.value_sum / child.visits + c * math.sqrt(log_parent / child.visits)


def squash(value: float, mode: str) -> float:
    return math.tanh(value) if mode == "tanh" else value


def search(tree: Tree, config: RStarConfig, env: SearchEnv) -> SearchGenerator:
    if config.ppm and not env.has_scorer:
        raise RuntimeError("mcts-rstar with ppm=true needs a scorer (--scorer-model)")
    for _ in range(config.rollouts):
        finished = yield from _rollout(tree, config, env)
        if not finished:
            return


def _rollout(tree: Tree, config: RStarConfig, env: SearchEnv) -> SearchGenerator:
    """One root-to-terminal walk; returns False when the search must stop (budget spent, tree finished)."""
    node = tree.root
    while not node.is_terminal:
        if not node.children:
            if not env.budget_left():
                return False
            yield from _expand(tree, node, config, env)
        node = best_child(node, lambda child: uct(child, config.c))
        if node is None:
            return False  # only reachable from an exhausted root
    backup(node, terminal_reward(node, config.positive_reward, config.negative_reward))
    return True


def _expand(tree: Tree, node: Node, config: RStarConfig, env: SearchEnv) -> SearchGenerator:
    [generation] = yield Generate((step_request(tree, node, config, env, n=config.n),))
    children = add_steps(tree, node, generation, env, max_depth=config.max_depth, dedup=config.dedup)
    fresh = [child for child in children if not child.is_terminal]
    if config.ppm and fresh:
        scores = yield Score(score_requests(tree, fresh))
        for child, score in zip(fresh, scores):
            child.value_estimate = float(score)
            child.visits, child.value_sum = 1, squash(float(score), config.ppm_squash)
