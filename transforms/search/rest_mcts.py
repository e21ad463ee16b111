"""ReST-MCTS* (Zhang et al., arXiv 2406.03816), registered as ``rest-mcts``.

Where each part comes from (paper, Sec. 3; reference code THUDM/ReST-MCTS ``MCTS/mcts.py``,
``MCTS/base.py`` and ``MCTS/task.py`` for the defaults):

- Selection (paper "Node Selection"; code ``selectNode``/``getBestChild``): walk from the root
  through expanded nodes by UCB on the node values. We use the code's form::

      UCB(s) = V(s) + c * sqrt(2 * ln N_parent / N(s))      (N(s) > 0)
      UCB(s) = V(s) + unvisited_bonus                        (N(s) = 0; the code's INF = 1.0)

  The paper writes ``V + eps * sqrt(ln N_parent / N)``; that is the code's form with eps = c * sqrt(2).
  ``c`` = 0.7 and the bonus 1.0 are the code's ``exploration_constant`` and ``inf`` defaults.
- Expansion (paper "Thought Expansion"; code ``expand``): sample ``branch`` single steps, one child per
  distinct step; each child's value comes from the value model V_theta (a scorer call).
- Greedy Monte-Carlo roll-out (paper "Greedy MC Rollout"; code ``greedyPolicy``): from the best new
  child, up to ``roll_steps`` steps; each step samples ``roll_branch`` candidates, values them and
  keeps the best; v_max is the best value seen (starting at 0, the code's ``low``). Then::

      V(roll) = (1 - alpha) * V(roll) + alpha * v_max,   N(roll) += 1

  Roll-out steps are simulation only and are not stored in the tree (as in the code); their tokens
  count in the engine stats and ``env.generated_tokens``.
- Value back-propagation (paper "Value Backpropagation"; code ``back_propagate``): from the expanded
  node to the root, N += 1 and, for a node with children,
  ``V(s) = sum_c N(c) * V(c) / sum_c N(c)``.
- Termination (paper "Determine Termination"; code ``isTerminal``): the search ends when a node's
  value reaches ``gate`` (0.9). The code notices it only when selection next lands on that node; we
  check the leaves whose value changed in the iteration and stop at once (same outcome, one round
  sooner). With ``stop_at_gate=false`` (the code's ``sample_value='full'``) such nodes are closed
  (never expanded) and the search runs all iterations, for data collection.
- Self-critic (paper "self-critic ... end-of-inference signal"; code ``get_simple_reflection``):
  with ``self_critic=true``, before a node at depth >= 1 is expanded the policy is asked whether the
  partial solution already solves the problem; "solved" (and not "unsolved") ends it: it becomes
  terminal and is verified on the whole solution if that states an answer (an answer marker may end
  one step and the answer open the next), else it ends unverified (``no_answer``). Its value is
  then estimated again (without a scorer: 1 when the verifier confirms it), so the gate can end the
  search at once; the code keeps the node's value-model V, which a scorer here keeps too. The rule
  part of the code's critic (an answer marker ends a solution) is always on (``stepwise``). Roll-out
  steps use the rule only.

Quality values (paper, Sec. 3, the definitions of the weighted reward and the quality value)::

    w_{s_k} = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 * r_{s_k}),     v_k = max(v_{k-1} + w_{s_k}, 0),  v_0 = 0

with r = 0 for a step on a path to a correct answer and 1 otherwise, and m_k the reasoning distance
(fewest further steps to a correct answer). For a step off every correct path, m_k is the distance of
its nearest ancestor on one (the code's ``get_full_value_samples_vm``), and it has a quality value
only if a finished wrong solution lies below it: the code gives m only to the paths from an ended
leaf up to the route, so an unfinished leaf (never expanded, or ended without an answer:
``transforms.search.endings``; a critic's end without a stated answer is one here) is not taken for
a wrong one. Steps with no such leaf below, or no ancestor on a correct route, have no quality
value. ``quality_values(tree)`` computes them for any stored tree (value-model targets at label
time). During the search they are V_theta's stand-in when no scorer is configured — the
code always calls the value model and uses the quality value only to build training samples after
search (ReST-MCTS#28) — so the search is driven by verified outcomes: a verified correct step has
value 1 (and ends the search at the gate), everything else 0 until a correct answer gives the tree a
reasoning distance. Roll-out steps (not in the tree) get 1 if they are a verified correct answer,
else 0.

Several iterations in flight per tree (``parallel`` = K > 1, default 1; ``transforms.search.inflight``):
up to K iterations run at once; while one is in flight, every node on its path counts one more visit
of value ``-virtual_loss`` (default 0, the lowest V) in UCB, and its selected leaf is not selectable.
When an iteration reaches the gate no new one starts; those already in flight are finished and kept.
Results are applied in submission order, so the tree depends only on K; K = 1 is the paper's
sequential search, and with K > 1 a selection does not see the iterations still in flight (a
departure, off by default).

Departures besides those above: ties go to the first child (the code picks at random); nodes that
are closed (terminal and visited, or at the gate) are skipped by selection, whereas the code can
select a closed leaf again and only bump its visit count; a terminal leaf reached by selection is
visited (backed up) without generating, like the code's ``<end>`` path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from transforms.protocols import GenerationRequest, SamplingSpec
from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator, states_answer
from transforms.search.endings import NO_ANSWER, end_branch, is_unfinished
from transforms.search.inflight import VirtualLoss, interleave
from transforms.search.stepwise import (
    add_steps, best_child, check_positive, descend, is_exhausted, path_from_root, score_requests, step_node,
    step_request,
)
from transforms.search.tree import Node, Tree

ROLLOUT_SALT = 1
CRITIC_SALT = 2
CRITIC_QUESTION = (
    "{question}\n\nPartial solution:\n{steps}\n\n"
    "Does the partial solution above already solve the problem? Reply with one word: solved or unsolved."
)


@dataclass(frozen=True)
class RestMCTSConfig:
    """iterations: selection-expansion-rollout-backup rounds; branch: steps sampled per expansion;
    c, unvisited_bonus: UCB; gate: value that ends the search; alpha: roll-out mixing weight;
    roll_steps, roll_branch: greedy roll-out length and width; stop_at_gate: end at the first node at
    the gate (else close it and go on); self_critic: ask the policy whether a node is solved;
    max_depth, temperature/top_p/max_tokens, dedup: as in the other tree searches; parallel:
    iterations in flight per tree (1 = the paper's sequential search); virtual_loss: the value an
    in-flight iteration counts as on its path (negated; 0 = a visit of value 0, the lowest V)."""

    iterations: int = 50
    branch: int = 3
    c: float = 0.7
    unvisited_bonus: float = 1.0
    gate: float = 0.9
    alpha: float = 0.5
    roll_steps: int = 3
    roll_branch: int = 1
    stop_at_gate: bool = True
    self_critic: bool = False
    critic_max_tokens: int = 16
    max_depth: int = 8
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True
    parallel: int = 1
    virtual_loss: float = 0.0

    def __post_init__(self) -> None:
        check_positive(iterations=self.iterations, branch=self.branch, roll_branch=self.roll_branch,
                       max_depth=self.max_depth, max_tokens=self.max_tokens, critic_max_tokens=self.critic_max_tokens,
                       parallel=self.parallel)
        if self.virtual_loss < 0:
            raise ValueError(f"virtual_loss must be >= 0, got {self.virtual_loss}")
        if self.roll_steps < 0:
            raise ValueError(f"roll_steps must be >= 0, got {self.roll_steps}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.c < 0 or self.unvisited_bonus < 0:
            raise ValueError("c and unvisited_bonus must be >= 0")


PRESETS = {
    "rest-mcts": Preset.of(
        "ReST-MCTS* search: end gate 0.9 and alpha 0.5 (paper and code); branch 3, c 0.7, unvisited "
        "bonus 1, greedy roll-out of 3 steps x 1 candidate, temperature 0.7 from the code's MCTS_Task "
        "defaults; the iteration limit (50 here) is a command-line argument there.",
        iterations=50, branch=3, c=0.7, unvisited_bonus=1.0, gate=0.9, alpha=0.5, roll_steps=3, roll_branch=1,
        temperature=0.7),
    "rest-mcts-full": Preset.of(
        "As 'rest-mcts' but closing nodes at the gate and running every iteration (the code's "
        "sample_value='full', used to collect value-model training data).",
        iterations=50, branch=3, c=0.7, unvisited_bonus=1.0, gate=0.9, alpha=0.5, roll_steps=3, roll_branch=1,
        temperature=0.7, stop_at_gate=False),
}


# ------------------------------------------------------------------------------------------------
# Formulas
# ------------------------------------------------------------------------------------------------


def value(node: Node) -> float:
    """V(s): the backed-up value once visited, else the value model's estimate (0 if none)."""
    if node.visits:
        return node.value_sum / node.visits
    return node.value_estimate if node.value_estimate is not None else 0.0


def set_value(node: Node, v: float) -> None:
    """Store V(s) so that W/N = V (rows then carry V as q_value, and a reload restores it)."""
    node.value_sum = v * node.visits


def ucb(child: Node, c: float, unvisited_bonus: float, virtual: VirtualLoss | None = None) -> float:
    """V + c * sqrt(2 ln N_parent / N), or V + unvisited_bonus for N = 0 (ReST-MCTS* code ``getBestChild``).

    ``virtual`` (``parallel`` > 1) adds the iterations in flight: each counts as one more visit of
    value ``-virtual_loss`` in N, N_parent and V (``transforms.search.inflight``)."""
    pending = virtual.pending(child) if virtual else 0
    visits = child.visits + pending
    if visits == 0:
        return value(child) + unvisited_bonus
    parent_visits = virtual.visits(child.parent) if virtual else child.parent.visits
    log_parent = math.log(parent_visits) if parent_visits > 1 else 0.0
    v = (child.value_sum - virtual.virtual_loss * pending) / visits if pending else value(child)
    return v + c * math.sqrt(2 * log_parent / visits)


def mix_rollout(v: float, v_max: float, alpha: float) -> float:
    """(1 - alpha) * V + alpha * v_max (paper "Greedy MC Rollout")."""
    return (1 - alpha) * v + alpha * v_max


def backpropagate(node: Node) -> None:
    """N += 1 from ``node`` to the root; a node with children takes the visit-weighted mean of their V."""
    for step in reversed(path_from_root(node)):
        v = value(step)
        step.visits += 1
        total = sum(child.visits for child in step.children)
        if total:
            v = sum(child.visits * value(child) for child in step.children) / total
        set_value(step, v)


def weighted_reward(v_prev: float, distance: int, wrong: bool) -> float:
    """w_{s_k} = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 r_{s_k}) (paper, weighted reward)."""
    return (1 - v_prev) / (distance + 1) * (-1 if wrong else 1)


def quality_value(v_prev: float, distance: int, wrong: bool) -> float:
    """v_k = max(v_{k-1} + w_{s_k}, 0) (paper, quality value)."""
    return max(v_prev + weighted_reward(v_prev, distance, wrong), 0.0)


def reasoning_distances(tree: Tree) -> dict[tuple[int, ...], int]:
    """m(s) for every node with a verified correct answer below it (0 at the correct terminal itself)."""
    distances: dict[tuple[int, ...], int] = {}

    def visit(node: Node) -> int | None:
        best = 0 if node.is_terminal and node.verdict is not None and node.verdict.equal else None
        for child in node.children:
            below = visit(child)
            if below is not None and (best is None or below + 1 < best):
                best = below + 1
        if best is not None:
            distances[node.path] = best
        return best

    visit(tree.root)
    return distances


def quality_values(tree: Tree) -> dict[tuple[int, ...], float | None]:
    """The quality value v_k of every node by path (None where undefined; see the module docstring)."""
    distances = reasoning_distances(tree)
    ended = _ended_below(tree)
    values: dict[tuple[int, ...], float | None] = {(): 0.0 if () in distances else None}

    def walk(node: Node, v_prev: float | None, fork_distance: int | None) -> None:
        for child in node.children:
            on_route = child.path in distances
            distance = distances[child.path] if on_route else (fork_distance if child.path in ended else None)
            v = None if distance is None or v_prev is None else quality_value(v_prev, distance, not on_route)
            values[child.path] = v
            walk(child, v, distance)

    walk(tree.root, values[()], distances.get(()))
    return values


def _ended_below(tree: Tree) -> set[tuple[int, ...]]:
    """Paths of the nodes with a finished solution (a terminal that is not unfinished) in their subtree."""
    ended: set[tuple[int, ...]] = set()

    def visit(node: Node) -> bool:
        found = node.is_terminal and not is_unfinished(node)
        for child in node.children:
            found = visit(child) or found
        if found:
            ended.add(node.path)
        return found

    visit(tree.root)
    return ended


# ------------------------------------------------------------------------------------------------
# Search
# ------------------------------------------------------------------------------------------------


@dataclass
class _Progress:
    started: int = 0
    stopped: bool = False
    blocked_at: int | None = None  # iterations finished when a selection last found only held leaves


def search(tree: Tree, config: RestMCTSConfig, env: SearchEnv) -> SearchGenerator:
    progress, virtual = _Progress(), VirtualLoss(config.virtual_loss)

    def closed(node: Node) -> bool:
        return value(node) >= config.gate

    def score(child: Node) -> float:
        return ucb(child, config.c, config.unvisited_bonus, virtual)

    def next_iteration() -> SearchGenerator | None:
        if (progress.stopped or progress.started >= config.iterations or progress.blocked_at == virtual.released
                or not env.budget_left()):
            return None
        node = descend(tree.root, score, lambda leaf: closed(leaf) or virtual.is_expanding(leaf))
        if node is None:
            if not is_exhausted(tree.root, closed):
                progress.blocked_at = virtual.released  # only leaves held by iterations in flight are open
            else:
                progress.stopped = True
            return None
        progress.started += 1
        return _held_iteration(tree, node, config, env, closed, virtual, progress)

    yield from interleave(next_iteration, config.parallel)


def _held_iteration(tree, node, config, env, closed, virtual: VirtualLoss, progress: _Progress) -> SearchGenerator:
    """One iteration at ``node``; while it is in flight its path carries the virtual loss."""
    path = path_from_root(node)
    virtual.hold(path, leaf=node)
    # The roll child is chosen among the node's fresh children, which no other iteration can hold.
    changed = yield from _iterate(tree, node, config, env, lambda c: ucb(c, config.c, config.unvisited_bonus), closed)
    virtual.release(path, leaf=node)
    backpropagate(node)
    if config.stop_at_gate and any(closed(leaf) for leaf in changed):
        progress.stopped = True


def _iterate(tree, node, config, env, score, closed) -> SearchGenerator:
    """Expansion and roll-out at the selected leaf; returns the leaves whose value changed."""
    if not node.is_terminal and config.self_critic and node.depth >= 1:
        if (yield from _critic_says_solved(tree, node, config, env)):
            _end_at_critic(tree, node, env)
    if node.is_terminal:
        return [node]  # a finished solution is visited, not expanded (the code's '<end>' path)
    [generation] = yield Generate((step_request(tree, node, config, env, n=config.branch),))
    children = add_steps(tree, node, generation, env, max_depth=config.max_depth, dedup=config.dedup)
    yield from _estimate(tree, children, env)
    roll = best_child(node, score, closed)
    if roll is not None:
        v_max = (yield from _greedy_rollout(tree, roll, config, env)) if not roll.is_terminal else value(roll)
        mixed = mix_rollout(value(roll), v_max, config.alpha)
        roll.visits += 1
        set_value(roll, mixed)
    return children


def _estimate(tree: Tree, nodes: list[Node], env: SearchEnv) -> SearchGenerator:
    """Set ``value_estimate`` on ``nodes``: V_theta from the scorer, else the quality value (see above)."""
    if not nodes:
        return []
    if env.has_scorer:
        estimates = [float(v) for v in (yield Score(score_requests(tree, nodes, env)))]
    else:
        known = quality_values(tree)
        estimates = [_verified_value(node, known) for node in nodes]
    for node, estimate in zip(nodes, estimates):
        node.value_estimate = estimate
    return estimates


def _verified_value(node: Node, known: dict) -> float:
    if node.is_terminal:
        return 1.0 if node.verdict is not None and node.verdict.equal else (known.get(node.path) or 0.0)
    return known.get(node.path) or 0.0


def _greedy_rollout(tree: Tree, start: Node, config: RestMCTSConfig, env: SearchEnv) -> SearchGenerator:
    """The best value met on a greedy simulation of up to ``roll_steps`` steps from ``start``."""
    v_max, state = 0.0, start
    for _ in range(config.roll_steps):
        if state.is_terminal or not env.budget_left():
            break
        [generation] = yield Generate((step_request(tree, state, config, env, n=config.roll_branch, salt=ROLLOUT_SALT),))
        candidates = [step_node(tree, state, sample, generation.prompt_tokens, env, max_depth=config.max_depth,
                                attach=False) for sample in generation.samples]
        values = yield from _estimate(tree, candidates, env)
        best = max(range(len(candidates)), key=lambda i: (values[i], -i))
        state, v_max = candidates[best], max(v_max, values[best])
    return v_max


def _end_at_critic(tree: Tree, node: Node, env: SearchEnv) -> None:
    """End a node the critic calls solved: verify it if its solution states an answer, else no_answer;
    then estimate its value again, so a confirmed solution reaches the gate (see the module docstring)."""
    if states_answer(env.solution_text(node)):
        env.verify(tree, node, whole=True)
    else:
        end_branch(node, NO_ANSWER)
    if not env.has_scorer:
        node.value_estimate = _verified_value(node, quality_values(tree))
        set_value(node, node.value_estimate)


def _critic_says_solved(tree: Tree, node: Node, config: RestMCTSConfig, env: SearchEnv) -> SearchGenerator:
    question = CRITIC_QUESTION.format(question=tree.question, steps=env.solution_text(node).rstrip())
    request = GenerationRequest(env.chat_prompt(question), SamplingSpec(
        n=1, max_tokens=config.critic_max_tokens, temperature=0.0, seed=env.seed_for(tree, node, CRITIC_SALT)))
    [generation] = yield Generate((request,))
    reply = generation.samples[0].text.lower() if generation.samples else ""
    return "solved" in reply and "unsolved" not in reply
