"""MCTS as in rStar-Math (Guan et al., arXiv 2501.04519), registered as ``mcts-rstar``.

A rollout (paper Sec. 3.1, "step-by-step verified reasoning trajectory"): starting at the root, pick a
child by UCT (paper Eq. 1)::

    UCT(s) = Q(s) + c * sqrt(ln N_parent(s) / N(s)),      Q(s) = q(s) / N(s)

expanding a node (``n`` sampled single steps) whenever the walk reaches one without children, and
go on until the walk reaches a terminal node. That node is verified; its reward q(s_d) = +1 if the
answer is correct else -1 is added to every node on the path (terminal-guided annotation, paper
Eq. 2: ``q(s_i)^k = q(s_i)^{k-1} + q(s_d)^k``) and N += 1 along the path. So every rollout runs to a
terminal node (the simulation phase that rStar#37 found missing in the code) and annotates exactly
one path.

Unvisited children (``unvisited``): ``inf`` gives an unvisited child UCT = +inf, so every child is
tried once before any is revisited (textbook UCT); ``zero`` is the released code's rule
(``MCTSNode.puct``: an unvisited child has Q = 0 and no exploration bonus, so UCT = 0, and a visited
child with a good Q is revisited before its unvisited siblings). ``ln N_parent`` is clamped at 0 so
a parent seen once gives no exploration bonus (the code's ``u = 0`` when a count is 0, and ln 1 = 0).

Failed steps and unfinished branches (``transforms.search.endings``): rStar keeps only steps whose
code runs. As in the released code (``eval_final_answer``: ``node.update(negative_reward)`` for
``NO_VALID_CHILD``, ``TOO_MANY_STEPS`` and ``TOO_MANY_CODE_ERRORS``), a child that ends its branch
without an answer (too many failed code steps in a row, an unparsable step, depth > ``max_depth``, a
step cut by the token limit, an empty step, EOS without an answer) gets a node-only update at once:
N = 1, q = ``negative_reward``; nothing is added to its ancestors, and being terminal and visited it
is never selected again. A walk that reaches a node whose every child is finished or failed does not
count as a rollout and starts again from the root (at most ``rollouts`` such restarts per problem, so
a policy that only writes failing steps cannot loop forever). Failed code steps within
``code_errors_allowed`` are ordinary nodes (the policy sees the error and may repair it); their rows
have ``exec_status`` other than ``ok``.

PPM-augmented variant (``ppm=true``; paper Sec. 3.3, self-evolution rounds 3-4): every new
non-terminal node's q is initialised from the scorer, ``q(s)^0 = PPM(s)``, squashed by tanh into
[-1, 1] (``ppm_squash``): the paper's PPM applies tanh to its reward head at inference only
(rStar#12), so a scorer returning raw head outputs needs it; use ``ppm_squash=none`` for a scorer
already in [-1, 1]. As in the released code (``candidate_node.update(value_estimate)``), the
initial value counts as one visit of that node only (not of its ancestors), so
Q = (q^0 + sum of rewards) / (1 + rollouts through it).

Several rollouts in flight per tree (``parallel`` = K > 1, default 1; ``transforms.search.inflight``):
up to K rollouts walk at once; while one waits on an expansion, every node on its path counts one
more visit of value ``-virtual_loss`` (default 1, the negative reward) in UCT, and the node being
expanded is not selectable. A rollout that finds only such nodes open waits for a result and walks
again (it does not count as a restart). Results are applied in the order the expansions were
submitted, so the tree depends only on K; K = 1 is the paper's sequential search, and with K > 1 a
walk does not see the rollouts still in flight (a departure, off by default, measured in
``bench/search_bench.py``).

Departures: ``rollouts`` counts terminal annotations, not loop turns (the released config runs 48
iterations, rStar#26); the released code backs up every terminal child of an expanded node at once,
here only the one the walk reaches (so a rollout annotates one path); evaluated terminal nodes and
fully explored subtrees are skipped by selection, so no rollout re-annotates a known outcome; ties go
to the first child (as in the code); duplicate sibling steps are dropped (``dedup``). Code-augmented
steps (the paper's code-augmented CoT) run only when the run is in code mode
(``SearchEnv.step_format``, see ``transforms.search.code_mode``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator
from transforms.search.endings import is_unfinished
from transforms.search.inflight import VirtualLoss, interleave
from transforms.search.stepwise import (
    add_steps, backup, best_child, check_positive, is_exhausted, score_requests, step_request, terminal_reward,
)
from transforms.search.tree import Node, Tree

PPM_SQUASH = ("tanh", "none")
UNVISITED = ("inf", "zero")


@dataclass(frozen=True)
class RStarConfig:
    """rollouts: terminal annotations per problem; n: steps sampled per expansion; c: UCT weight;
    unvisited: UCT of an unvisited child, inf or zero (the released code); max_depth: steps after which
    a step that states no answer ends its branch; code_errors_allowed: failed code steps in a row a
    branch may have (code mode); ppm: initialise Q from the scorer (PPM); ppm_squash: tanh or none on
    the scorer output; temperature/top_p/max_tokens: one step's sampling; parallel: rollouts in flight
    per tree (1 = the paper's sequential search); virtual_loss: the value an in-flight rollout counts as
    on its path (negated), see the module docstring."""

    rollouts: int = 16
    n: int = 5
    c: float = 2.0
    unvisited: str = "inf"
    max_depth: int = 16
    code_errors_allowed: int = 1
    ppm: bool = False
    ppm_squash: str = "tanh"
    positive_reward: float = 1.0
    negative_reward: float = -1.0
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True
    parallel: int = 1
    virtual_loss: float = 1.0

    def __post_init__(self) -> None:
        check_positive(rollouts=self.rollouts, n=self.n, max_depth=self.max_depth, max_tokens=self.max_tokens,
                       parallel=self.parallel)
        if self.virtual_loss < 0:
            raise ValueError(f"virtual_loss must be >= 0, got {self.virtual_loss}")
        if self.c < 0:
            raise ValueError(f"c must be >= 0, got {self.c}")
        if self.ppm_squash not in PPM_SQUASH:
            raise ValueError(f"ppm_squash must be one of {', '.join(PPM_SQUASH)}, got {self.ppm_squash!r}")
        if self.unvisited not in UNVISITED:
            raise ValueError(f"unvisited must be one of {', '.join(UNVISITED)}, got {self.unvisited!r}")
        if self.code_errors_allowed < 0:
            raise ValueError(f"code_errors_allowed must be >= 0, got {self.code_errors_allowed}")

    @property
    def needs_scorer(self) -> bool:
        return self.ppm


PRESETS = {
    "rstar-round1": Preset.of(
        "rStar-Math round 1 (terminal-guided annotation, no PPM): 16 rollouts per problem and 5 candidate steps "
        "per expansion (the paper's round-1 settings), c = 2; the released code's unvisited rule (UCT 0) so "
        "that good nodes are revisited and Q averages several rollouts; depth 16, temperature 0.7 and 1 "
        "tolerated code error (errors_threshold 2 with >=) from the released sample_mcts.yaml, which runs "
        "48 iterations of 12 candidates.",
        rollouts=16, n=5, c=2.0, unvisited="zero", max_depth=16, code_errors_allowed=1, ppm=False,
        temperature=0.7),
    "rstar-ppm": Preset.of(
        "rStar-Math rounds 3-4: PPM-augmented MCTS (Q initialised from the scorer, tanh), 16 rollouts, 12 "
        "candidates per step, temperature 1.0 and no tolerated code error (errors_threshold 1) as in the "
        "released sft_sample_mcts.yaml; released unvisited rule. Needs --scorer-model.",
        rollouts=16, n=12, c=2.0, unvisited="zero", max_depth=16, code_errors_allowed=0, ppm=True,
        temperature=1.0),
}


def uct(child: Node, c: float, unvisited: str = "inf", virtual: VirtualLoss | None = None) -> float:
    """Q(s) + c * sqrt(ln N_parent(s) / N(s)) (rStar-Math Eq. 1); an unvisited child gets +inf
    (``unvisited=inf``) or 0 (``zero``, the released ``MCTSNode.puct``).

    ``virtual`` (``parallel`` > 1) adds the rollouts in flight: each counts as one more visit of value
    ``-virtual_loss`` in N(s), N_parent(s) and q(s) (``transforms.search.inflight``)."""
    visits = virtual.visits(child) if virtual else child.visits
    if visits == 0:
        return math.inf if unvisited == "inf" else 0.0
    parent_visits = virtual.visits(child.parent) if virtual else child.parent.visits
    log_parent = math.log(parent_visits) if parent_visits > 1 else 0.0
    value_sum = virtual.value_sum(child) if virtual else child.value_sum
    return value_sum / visits + c * math.sqrt(log_parent / visits)


def squash(value: float, mode: str) -> float:
    return math.tanh(value) if mode == "tanh" else value


@dataclass
class _Progress:
    """What the rollouts of one tree have done so far (``rollouts`` and the restart limit count these)."""

    annotated: int = 0
    restarts: int = 0
    in_flight: int = 0
    stopped: bool = False
    blocked_at: int | None = None  # results applied when a rollout last found only held nodes


def search(tree: Tree, config: RStarConfig, env: SearchEnv) -> SearchGenerator:
    if config.ppm and not env.has_scorer:
        raise RuntimeError("mcts-rstar with ppm=true needs a scorer (--scorer-model)")
    progress, virtual = _Progress(), VirtualLoss(config.virtual_loss)

    def next_rollout() -> SearchGenerator | None:
        if (progress.stopped or progress.annotated + progress.in_flight >= config.rollouts
                or progress.restarts > config.rollouts or progress.blocked_at == virtual.released):
            return None
        progress.in_flight += 1
        return _counted_rollout(tree, config, env, virtual, progress)

    yield from interleave(next_rollout, config.parallel)


ANNOTATED, DEAD_END, STOP, BLOCKED = "annotated", "dead_end", "stop", "blocked"


def _counted_rollout(tree: Tree, config: RStarConfig, env: SearchEnv, virtual: VirtualLoss,
                     progress: _Progress) -> SearchGenerator:
    outcome = yield from _rollout(tree, config, env, virtual)
    progress.in_flight -= 1
    if outcome == STOP:
        progress.stopped = True
    elif outcome == ANNOTATED:
        progress.annotated += 1
    elif outcome == DEAD_END:  # the walk met only finished or failed children; it does not count
        progress.restarts += 1
    else:  # BLOCKED: wait for a result in flight before walking again (the tree is unchanged till then)
        progress.blocked_at = virtual.released


def _rollout(tree: Tree, config: RStarConfig, env: SearchEnv, virtual: VirtualLoss) -> SearchGenerator:
    """One root-to-terminal walk; returns ANNOTATED, DEAD_END (no open child below the walk), STOP
    (budget spent, or the whole tree finished) or BLOCKED (the open children are being expanded by
    rollouts in flight; only with ``parallel`` > 1)."""
    node, path = tree.root, [tree.root]
    while not node.is_terminal:
        if not node.children:
            if virtual.is_expanding(node):  # the root, while another rollout's first expansion runs
                return BLOCKED
            if not env.budget_left():
                return STOP
            yield from _expand(tree, node, config, env, virtual, path)
        child = best_child(node, lambda c: uct(c, config.c, config.unvisited, virtual), virtual.is_expanding)
        if child is None:
            if any(not is_exhausted(c) for c in node.children):  # open children, all held by rollouts in flight
                return BLOCKED
            return STOP if node is tree.root else DEAD_END
        node = child
        path.append(node)
    backup(node, terminal_reward(node, config.positive_reward, config.negative_reward))
    return ANNOTATED


def _expand(tree: Tree, node: Node, config: RStarConfig, env: SearchEnv, virtual: VirtualLoss,
            path: list[Node]) -> SearchGenerator:
    virtual.hold(path, leaf=node)  # while the steps are generated, other rollouts see a lost visit here
    [generation] = yield Generate((step_request(tree, node, config, env, n=config.n),))
    virtual.release(path, leaf=node)
    children = add_steps(tree, node, generation, env, max_depth=config.max_depth, dedup=config.dedup,
                         code_errors_allowed=config.code_errors_allowed)
    for child in children:
        if is_unfinished(child):  # node-only update, never selected again (released eval_final_answer)
            child.visits, child.value_sum = 1, config.negative_reward
    fresh = [child for child in children if not child.is_terminal]
    if config.ppm and fresh:
        scores = yield Score(score_requests(tree, fresh, env))
        for child, score in zip(fresh, scores):
            child.value_estimate = float(score)
            child.visits, child.value_sum = 1, squash(float(score), config.ppm_squash)
