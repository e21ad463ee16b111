"""MCTS as in AlphaMath Almost Zero (Chen et al., arXiv 2405.03553), registered as ``mcts-alphamath``.

One iteration (paper, the MCTS section: selection, expansion and evaluation, backup; code:
Super_MARIO ``mcts_math/agents/mcts.py`` and ``nodes/mcts_node.py``):

1. Selection from the root by PUCT (paper, selection equation; ``MCTSNode.puct``)::

       a* = argmax_a  Q(s,a) + c_puct * pi(a|s) * sqrt(N(s)) / (1 + N(s,a))

   Q of an unvisited child is 0 (as in the code). Exhausted children (a verified terminal, or a
   subtree with nothing left to expand) are skipped, as the code skips terminal children.
2. Expansion: sample ``n`` (B in the paper) single steps from the policy; one child per distinct
   step (``stepwise.add_steps``). Terminal children are verified and their reward r = +1/-1 is
   backed up from the child at once (the code's ``eval_final_answer``).
3. Evaluation of the expanded leaf s_t (paper, value-estimation equation)::

       V(s_t) = (1 - lambda) * V_phi(s_t) + lambda * r(s_t)

   ``reward_weight`` is lambda. r(s_t) is 0 for the non-terminal leaf, and +1/-1 for a terminal
   child. Without a value model lambda must be 1 (round 1 of the paper), so V is the verifier's reward
   alone. With a scorer, V_phi of every new node is scored right after its expansion, in one
   batched call, so it is at hand when the node is later selected (the code's ``update_leaf_value``).
4. Backup: N += 1 and W += V from the evaluated node to the root; Q = W / N (mean value).

Priors (``prior``): ``softmax`` (default) normalises the policy over the sampled siblings with a
softmax of the *length-normalised* step log-probability (mean token log-probability); the paper
uses pi_theta(a|s) without saying how a sampled step's probability is normalised.
``exp_mean`` is Super_MARIO's ``expand_node`` (exp of the mean token log-probability, unnormalised),
``uniform`` its ``MCTSNode`` default (prior 1), ``softmax_total`` the softmax of the whole step's
log-probability.

Departures: ties in selection go to the first child, not a random one (reproducible without a
random state); a dead end (every child exhausted) restarts selection instead of wasting the
iteration (the code returns None and skips it). Code steps (the paper's tool calls) run only when
the run is in code mode (``SearchEnv.step_format``, see ``transforms.search.code_mode``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator
from transforms.search.stepwise import (
    PRIOR_MODES, add_steps, backup, check_positive, descend, score_requests, set_priors, step_request,
    terminal_reward,
)
from transforms.search.tree import Node, Tree


@dataclass(frozen=True)
class AlphaMathConfig:
    """iterations: simulations per problem; n: steps sampled per expansion (B); c_puct: PUCT weight;
    max_depth: steps at which a solution is cut (terminal, verified); reward_weight: lambda in
    V = (1 - lambda) V_phi + lambda r (1 = no value model); prior: see the module docstring;
    temperature/top_p/max_tokens: sampling of one step; dedup: drop duplicate sibling steps."""

    iterations: int = 40
    n: int = 5
    c_puct: float = 1.25
    max_depth: int = 8
    reward_weight: float = 1.0
    prior: str = "softmax"
    positive_reward: float = 1.0
    negative_reward: float = -1.0
    temperature: float = 0.6
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True

    def __post_init__(self) -> None:
        check_positive(iterations=self.iterations, n=self.n, max_depth=self.max_depth, max_tokens=self.max_tokens)
        if self.c_puct < 0:
            raise ValueError(f"c_puct must be >= 0, got {self.c_puct}")
        if not 0.0 <= self.reward_weight <= 1.0:
            raise ValueError(f"reward_weight (lambda) must be in [0, 1], got {self.reward_weight}")
        if self.prior not in PRIOR_MODES:
            raise ValueError(f"prior must be one of {', '.join(PRIOR_MODES)}, got {self.prior!r}")

    @property
    def needs_scorer(self) -> bool:
        """A value model is needed whenever lambda < 1."""
        return self.reward_weight < 1.0


PRESETS = {
    "alphamath": Preset.of(
        "AlphaMath round-1 data generation: c_puct 1.25, B=5 samples per expansion, 40 simulations, depth 8 "
        "(temperature 0.6 from Super_MARIO's mcts_round1.yaml); no value model yet (lambda = 1).",
        iterations=40, n=5, c_puct=1.25, max_depth=8, reward_weight=1.0, temperature=0.6),
    "alphamath-value": Preset.of(
        "As 'alphamath' with the value model mixed in (lambda = 0.5, Super_MARIO's reward_weight default); "
        "needs --scorer-model.",
        iterations=40, n=5, c_puct=1.25, max_depth=8, reward_weight=0.5, temperature=0.6),
    "super-mario-code": Preset.of(
        "Super_MARIO code defaults: c_puct 1.5 (config.py) and prior 1 for every child (MCTSNode).",
        iterations=40, n=5, c_puct=1.5, max_depth=8, prior="uniform", temperature=0.6),
}


def puct(child: Node, c_puct: float) -> float:
    """Q(s,a) + c_puct * pi(a|s) * sqrt(N(s)) / (1 + N(s,a)) (AlphaMath's selection equation)."""
    q = child.q if child.visits else 0.0
    prior = 1.0 if child.prior is None else child.prior
    return q + c_puct * prior * math.sqrt(child.parent.visits) / (1 + child.visits)


def leaf_value(v_phi: float | None, reward: float, reward_weight: float) -> float:
    """V(s) = (1 - lambda) * V_phi(s) + lambda * r(s) (AlphaMath's value-estimation equation)."""
    if reward_weight >= 1.0 or v_phi is None:
        return reward
    return (1.0 - reward_weight) * v_phi + reward_weight * reward


def search(tree: Tree, config: AlphaMathConfig, env: SearchEnv) -> SearchGenerator:
    if config.needs_scorer and not env.has_scorer:
        raise RuntimeError("mcts-alphamath with reward_weight < 1 needs a value model (--scorer-model)")
    root = tree.root
    for _ in range(config.iterations):
        if not env.budget_left():
            return
        leaf = descend(root, lambda child: puct(child, config.c_puct))
        if leaf is None:
            return  # every branch is finished
        [generation] = yield Generate((step_request(tree, leaf, config, env, n=config.n),))
        children = add_steps(tree, leaf, generation, env, max_depth=config.max_depth, dedup=config.dedup)
        set_priors(children, config.prior)
        if config.needs_scorer:
            yield from _score_values(tree, ([leaf] if leaf.value_estimate is None else []) + children)
        for child in children:
            if child.is_terminal:
                reward = terminal_reward(child, config.positive_reward, config.negative_reward)
                backup(child, leaf_value(child.value_estimate, reward, config.reward_weight))
        backup(leaf, leaf_value(leaf.value_estimate, 0.0, config.reward_weight))


def _score_values(tree: Tree, nodes: list[Node]) -> SearchGenerator:
    """Store V_phi on ``nodes`` with one batched scorer call."""
    values = yield Score(score_requests(tree, nodes))
    for node, value in zip(nodes, values):
        node.value_estimate = float(value)
