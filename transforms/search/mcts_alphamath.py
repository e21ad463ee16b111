"""MCTS as in AlphaMath Almost Zero (Chen et al., arXiv 2405.03553), registered as ``mcts-alphamath``.

One iteration (paper, the MCTS section: selection, expansion and evaluation, backup; code:
Super_MARIO ``mcts_math/agents/mcts.py`` and ``nodes/mcts_node.py``):

1. Selection from the root by PUCT (paper, selection equation; ``MCTSNode.puct``)::

       a* = argmax_a  Q(s,a) + c_puct * pi(a|s) * sqrt(N(s)) / (1 + N(s,a))

   Q of an unvisited child is 0 (as in the code). Exhausted children (a verified terminal, or a
   subtree with nothing left to expand) are skipped, as the code skips terminal children.
2. Expansion: sample ``n`` (B in the paper) single steps from the policy; one child per distinct
   step (``stepwise.add_steps``). Terminal children are verified and their reward r = +1/-1 is
   backed up from the child at once (the code's ``eval_final_answer``); a branch that ends without
   stating an answer (depth > ``max_depth``, a step cut by the token limit, an empty step, too many
   code errors: ``transforms.search.endings``) backs up the negative reward to the root, as the
   code's ``eval_final_answer`` does for ``TOO_MANY_STEPS``/``NO_VALID_CHILD``/``TOO_MANY_CODE_ERRORS``.
3. Evaluation of the expanded leaf s_t (paper Sec. 3.1, value-estimation equation)::

       V(s_t) = (1 - lambda) * V_phi(s_t) + lambda * r(s_t)

   ``reward_weight`` is lambda. The paper sets lambda = 1 at terminal nodes and lambda = 0 elsewhere
   when it generates training data (a terminal's value is its reward r, a non-terminal leaf's the
   value model's V_phi), and lambda = 0 at inference: ``reward_weight=terminal`` is that rule
   (Super_MARIO likewise backs up the reward for terminal nodes and V_phi for the others; its
   ``reward_weight`` field is never read), so a verified correct terminal backs up exactly +1. A
   number is the literal formula with that constant lambda (r = 0 for a non-terminal leaf). Without
   a value model lambda must be 1 (round 1 of the paper: the reward alone). With a scorer, V_phi of
   every new node is scored right after its expansion, in one batched call, so it is at hand when the
   node is later selected (the code's ``update_leaf_value``).
4. Backup: N += 1 and W += V from the evaluated node to the root; Q = W / N (mean value).

Prior (``prior``): ``exp_mean`` (default) is the paper's pi_theta(a|s) (Sec. 3.1) as Super_MARIO
computes it in ``expand_node``: exp of the step's mean token log-probability, not normalised over
siblings. ``softmax`` (over siblings, of the mean token log-probability), ``softmax_total`` and
``uniform`` (1 for every child) are alternatives (``stepwise.set_priors``).

Code steps (the paper's tool calls) run only in code mode (``SearchEnv.step_format``, see
``transforms.search.code_mode``); ``code_errors_allowed`` = 3 is Super_MARIO's ``errors_threshold``.

Several expansions in flight per tree (``parallel`` = K > 1, default 1; ``transforms.search.inflight``):
the search keeps up to K selections submitted (``Submit``) and applies their results strictly in the
order it made them (``Await`` of the oldest), so the tree depends only on K, never on which request the engine finishes
first. Virtual loss (as in parallel MCTS, Chaslot et al. 2008, and AlphaGo Zero's self-play search)
keeps the K selections apart: while a selection is in flight, every node on its root-to-leaf path
counts one more visit whose value is ``-virtual_loss`` (default 1, the negative reward), in N(s),
N(s,a) and Q(s,a) = (W - virtual_loss * k) / (N + k) for k selections through it; the leaf being
expanded is not selectable until its steps are back. The virtual visits are removed before the real
backup, so stored N, W and Q hold real visits only. With K = 1 nothing is ever in flight at a
selection and the search is exactly the sequential one above (the paper's); with K > 1 a selection
does not see the K - 1 results still in flight, so the trees differ from the paper's (a departure,
off by default; ``bench/search_bench.py`` measures what it buys).

Departures: ties in selection go to the first child, not a random one (reproducible without a
random state); a dead end (every child exhausted) restarts selection instead of wasting the
iteration (the code returns None and skips it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator
from transforms.search.inflight import VirtualLoss, interleave
from transforms.search.stepwise import (
    PRIOR_MODES, add_steps, backup, check_positive, descend, path_from_root, score_requests, set_priors,
    step_request, terminal_reward,
)
from transforms.search.tree import Node, Tree

TERMINAL = "terminal"  # reward_weight: lambda = 1 at terminal nodes, 0 elsewhere


@dataclass(frozen=True)
class AlphaMathConfig:
    """iterations: simulations per problem; n: steps sampled per expansion (B); c_puct: PUCT weight;
    max_depth: steps after which a step that states no answer ends its branch (``too_many_steps``);
    reward_weight: lambda in V = (1 - lambda) V_phi + lambda r, a number in [0, 1] (1 = no value
    model) or ``terminal`` (1 at terminal nodes, 0 elsewhere); prior: see the module docstring;
    code_errors_allowed: failed code steps in a row a branch may have (code mode);
    temperature/top_p/max_tokens: sampling of one step; dedup: drop duplicate sibling steps;
    parallel: expansions in flight per tree (1 = the paper's sequential MCTS); virtual_loss: the value
    an in-flight selection counts as on its path (negated), see the module docstring."""

    iterations: int = 40
    n: int = 5
    c_puct: float = 1.25
    max_depth: int = 8
    reward_weight: float | str = 1.0
    prior: str = "exp_mean"
    positive_reward: float = 1.0
    negative_reward: float = -1.0
    temperature: float = 0.6
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True
    code_errors_allowed: int = 3
    parallel: int = 1
    virtual_loss: float = 1.0

    def __post_init__(self) -> None:
        check_positive(iterations=self.iterations, n=self.n, max_depth=self.max_depth, max_tokens=self.max_tokens,
                       parallel=self.parallel)
        if self.virtual_loss < 0:
            raise ValueError(f"virtual_loss must be >= 0, got {self.virtual_loss}")
        if self.c_puct < 0:
            raise ValueError(f"c_puct must be >= 0, got {self.c_puct}")
        if self.code_errors_allowed < 0:
            raise ValueError(f"code_errors_allowed must be >= 0, got {self.code_errors_allowed}")
        if self.reward_weight != TERMINAL and not (
                isinstance(self.reward_weight, (int, float)) and 0.0 <= self.reward_weight <= 1.0):
            raise ValueError(f"reward_weight (lambda) must be in [0, 1] or {TERMINAL!r}, got {self.reward_weight!r}")
        if self.prior not in PRIOR_MODES:
            raise ValueError(f"prior must be one of {', '.join(PRIOR_MODES)}, got {self.prior!r}")

    @property
    def needs_scorer(self) -> bool:
        """A value model is needed whenever lambda < 1 somewhere (``terminal``: at non-terminal leaves)."""
        return self.reward_weight == TERMINAL or self.reward_weight < 1.0


PRESETS = {
    "alphamath": Preset.of(
        "AlphaMath round-1 data generation: c_puct 1.25, B=5 samples per expansion, 40 simulations, depth 8, "
        "prior exp(mean token log-prob) (paper Sec. 3.1, Super_MARIO expand_node); temperature 0.6 and 3 "
        "tolerated code errors from Super_MARIO's mcts_round1.yaml; no value model yet (lambda = 1).",
        iterations=40, n=5, c_puct=1.25, max_depth=8, reward_weight=1.0, prior="exp_mean", temperature=0.6,
        code_errors_allowed=3),
    "alphamath-value": Preset.of(
        "AlphaMath data generation with the value model (later rounds): lambda = 1 at terminal nodes and 0 "
        "elsewhere (paper Sec. 3.1; Super_MARIO backs up V_phi for non-terminal leaves, the reward for "
        "terminal ones); otherwise as 'alphamath'. Needs --scorer-model.",
        iterations=40, n=5, c_puct=1.25, max_depth=8, reward_weight=TERMINAL, prior="exp_mean", temperature=0.6,
        code_errors_allowed=3),
    "super-mario-code": Preset.of(
        "Super_MARIO code defaults: c_puct 1.5 (config.py, which mcts_round1.yaml keeps), prior exp(mean token "
        "log-prob) (expand_node), temperature 0.6, 3 tolerated code errors.",
        iterations=40, n=5, c_puct=1.5, max_depth=8, prior="exp_mean", temperature=0.6, code_errors_allowed=3),
}


def puct(child: Node, c_puct: float, virtual: VirtualLoss | None = None) -> float:
    """Q(s,a) + c_puct * pi(a|s) * sqrt(N(s)) / (1 + N(s,a)) (AlphaMath's selection equation).

    ``virtual`` (``parallel`` > 1) adds the selections in flight: each counts as one more visit whose
    value is ``-virtual_loss`` (see the module docstring) in N(s), N(s,a) and Q, as rStar's ``uct`` does.
    """
    visits = virtual.visits(child) if virtual else child.visits
    parent_visits = virtual.visits(child.parent) if virtual else child.parent.visits
    if virtual and virtual.pending(child):
        q = virtual.value_sum(child) / visits
    else:
        q = child.q if child.visits else 0.0
    prior = 1.0 if child.prior is None else child.prior
    return q + c_puct * prior * math.sqrt(parent_visits) / (1 + visits)


def leaf_value(v_phi: float | None, reward: float, reward_weight: float | str, terminal: bool = False) -> float:
    """V(s) = (1 - lambda) * V_phi(s) + lambda * r(s) (AlphaMath Sec. 3.1, value-estimation equation).

    ``reward_weight`` is lambda, or ``terminal``: lambda = 1 for a terminal node (V = r) and 0 for
    any other (V = V_phi), the paper's rule for training-data generation. Without an estimate V = r.
    """
    if reward_weight == TERMINAL:
        reward_weight = 1.0 if terminal else 0.0
    if reward_weight >= 1.0 or v_phi is None:
        return reward
    return (1.0 - reward_weight) * v_phi + reward_weight * reward


def search(tree: Tree, config: AlphaMathConfig, env: SearchEnv) -> SearchGenerator:
    if config.needs_scorer and not env.has_scorer:
        raise RuntimeError("mcts-alphamath with reward_weight < 1 needs a value model (--scorer-model)")
    root, virtual = tree.root, VirtualLoss(config.virtual_loss)
    started = 0

    def next_expansion() -> SearchGenerator | None:
        nonlocal started
        if started >= config.iterations or not env.budget_left():
            return None
        leaf = descend(root, lambda child: puct(child, config.c_puct, virtual),
                       ended=virtual.is_expanding)
        if leaf is None:
            return None  # every branch is finished, or waits on an expansion in flight
        started += 1
        return _expand_and_back_up(tree, leaf, config, env, virtual)

    yield from interleave(next_expansion, config.parallel)


def _expand_and_back_up(tree: Tree, leaf: Node, config: AlphaMathConfig, env: SearchEnv,
                        virtual: VirtualLoss) -> SearchGenerator:
    """Expansion, evaluation and backup of one selected leaf (steps 2-4 of the module docstring)."""
    path = path_from_root(leaf)
    virtual.hold(path, leaf=leaf)
    [generation] = yield Generate((step_request(tree, leaf, config, env, n=config.n),))
    virtual.release(path, leaf=leaf)
    children = add_steps(tree, leaf, generation, env, max_depth=config.max_depth, dedup=config.dedup,
                         code_errors_allowed=config.code_errors_allowed)
    set_priors(children, config.prior)
    if config.needs_scorer:
        yield from _score_values(tree, env, ([leaf] if leaf.value_estimate is None else []) + children)
    for child in children:
        if child.is_terminal:
            reward = terminal_reward(child, config.positive_reward, config.negative_reward)
            backup(child, leaf_value(child.value_estimate, reward, config.reward_weight, terminal=True))
    backup(leaf, leaf_value(leaf.value_estimate, 0.0, config.reward_weight))


def _score_values(tree: Tree, env: SearchEnv, nodes: list[Node]) -> SearchGenerator:
    """Store V_phi on ``nodes`` with one batched scorer call."""
    values = yield Score(score_requests(tree, nodes, env))
    for node, value in zip(nodes, values):
        node.value_estimate = float(value)
