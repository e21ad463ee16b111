"""Growing a tree one step at a time: what the tree searches share.

``mcts_alphamath``, ``mcts_rstar``, ``sbs`` and ``rest_mcts`` all expand a node by sampling single
steps (generation stops at the blank-line step separator), hang one child per distinct step, verify
the children that end a solution, and walk or back up along root-to-node paths. Those pieces live
here so each algorithm file holds only its own formulas and control flow.

Conventions (every algorithm's docstring refers to these):
- A step that states a final answer (``base.states_answer``: a closed ``\\boxed{}``, or "the answer
  is" / "Final Answer:" / a line starting ``####`` followed by an answer) is terminal and verified
  at once (``env.verify``, on the step's own text).
- A step that states no answer ends its branch *unverified*, with verdict None and a method from
  ``transforms.search.endings`` (``branch_end``), when it is empty (``empty_step``), was cut by the
  token limit of one step (``length``), ended generation (EOS, ``no_answer``), or sits deeper than
  ``max_depth`` (``too_many_steps``). The depth rule is the reference one (Super_MARIO and rStar
  ``create_child``: ``depth > max_depth``): ``max_depth`` steps may be followed by one more, which
  must state the answer. The searches count these endings as wrong (negative reward).
- In code mode (``env.step_format`` set) a step is instead parsed, run in the sandbox and ended,
  verified or continued by ``transforms.search.code_mode.settle_code_step`` (with the allowance of
  ``code_errors_allowed`` failed code steps in a row); the rest is the same.
- With ``dedup`` on, a sample whose text equals an existing sibling's is dropped (Super_MARIO's
  ``remove_duplicate``, ReST-MCTS*'s ``if action not in node.children``). Its tokens still count in
  ``env.generated_tokens`` (and the engine stats) but belong to no node.
- A node is *exhausted* when nothing more can be learned below it: it is terminal and already
  evaluated (visited), or all its children are exhausted. Selections skip exhausted children, so
  no iteration is spent re-walking a finished branch; it is a pure function of the tree, so a
  reloaded tree resumes with the same state.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

from transforms.protocols import Generation, GenerationRequest, Sample, ScoreRequest
from transforms.search.base import SearchEnv, classify_step, sampling
from transforms.search.code_mode import settle_code_step
from transforms.search.endings import EMPTY_STEP, LENGTH, NO_ANSWER, TOO_MANY_STEPS, end_branch
from transforms.search.tree import Node, Tree

PRIOR_MODES = ("softmax", "softmax_total", "exp_mean", "uniform")


def check_positive(**fields: int) -> None:
    """Validate budget fields (iterations, samples per expansion, depth, tokens) that must be >= 1."""
    for name, value in fields.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def step_request(tree: Tree, node: Node, config: Any, env: SearchEnv, *, n: int, salt: int = 0) -> GenerationRequest:
    """Sample ``n`` next steps after ``node`` (stop where a step ends, ``env.step_stop()``; seed from the node's path)."""
    return GenerationRequest(env.prompt(tree, node),
                             sampling(config, n=n, seed=env.seed_for(tree, node, salt), stop=env.step_stop()))


def branch_end(node: Node, max_depth: int) -> str | None:
    """How a text step that states no answer ends its branch (an ``endings`` method), or None if the
    branch goes on (see the module docstring)."""
    if not node.step_text:
        return EMPTY_STEP
    if node.finish_reason == "length":
        return LENGTH
    if node.finish_reason == "eos":
        return NO_ANSWER
    if node.depth > max_depth:
        return TOO_MANY_STEPS
    return None


def add_steps(tree: Tree, parent: Node, generation: Generation, env: SearchEnv, *, max_depth: int,
              dedup: bool = True, code_errors_allowed: int = 0) -> list[Node]:
    """Hang one child per sampled step under ``parent``, verify the terminal ones; return the new children."""
    if parent.prompt_tokens is None:
        parent.prompt_tokens = generation.prompt_tokens
    seen = {child.step_text for child in parent.children} if dedup else set()
    children = []
    for sample in generation.samples:
        text = sample.text.strip()
        if dedup and text in seen:
            continue
        seen.add(text)
        children.append(step_node(tree, parent, sample, generation.prompt_tokens, env, max_depth=max_depth,
                                  code_errors_allowed=code_errors_allowed))
    return children


def step_node(tree: Tree, parent: Node, sample: Sample, prompt_tokens: int | None, env: SearchEnv, *,
              max_depth: int, attach: bool = True, code_errors_allowed: int = 0) -> Node:
    """A node for one sampled step, verified if it ends the solution.

    ``attach=False`` makes a node that knows its parent (so its steps and prompt are right) but is
    not one of the parent's children: a simulation step that the tree does not keep (ReST-MCTS*'s
    roll-outs). Its path ends in -1 so it never shares a seed with a real child.
    """
    text = sample.text.strip()
    stats = dict(finish_reason=sample.finish_reason, num_tokens=sample.num_tokens, prompt_tokens=prompt_tokens,
                 prior_logprob=sample.cumulative_logprob)
    if attach:
        node = parent.add_child(text, classify_step(text), **stats)
    else:
        node = Node(path=parent.path + (-1,), step_text=text, step_kind=classify_step(text), parent=parent, **stats)
    if env.step_format is not None:
        settle_code_step(node, fmt=env.step_format, executor=env.executor, verify=lambda n: env.verify(tree, n),
                         finish_reason=sample.finish_reason, max_depth=max_depth,
                         code_errors_allowed=code_errors_allowed)
    elif node.step_kind == "answer":
        env.verify(tree, node)
    else:
        ending = branch_end(node, max_depth)
        if ending is not None:
            end_branch(node, ending)
    return node


def mean_logprob(node: Node) -> float:
    """Length-normalised log-probability of the node's step (mean over its tokens; 0 if unknown)."""
    if node.prior_logprob is None:
        return 0.0
    return node.prior_logprob / max(node.num_tokens or 1, 1)


def set_priors(children: Sequence[Node], mode: str) -> None:
    """Store pi(a|s) on freshly expanded siblings.

    ``exp_mean``: exp(mean token log-probability) of the step, not normalised over siblings: the
    AlphaMath prior (paper Sec. 3.1; Super_MARIO ``MCTS.expand_node``:
    ``np.exp(output.cumulative_logprob / len(output.token_ids))``); a step of no tokens gets 0, as in
    Super_MARIO's ``local_llm_engine``. ``softmax``: softmax over siblings of the mean token
    log-probability; ``softmax_total``: softmax of the whole step's log-probability; ``uniform``: 1.0
    for every child (``MCTSNode``'s field default, which ``expand_node`` always overwrites).
    """
    if mode == "uniform":
        for child in children:
            child.prior = 1.0
        return
    if mode == "exp_mean":
        for child in children:
            child.prior = math.exp(mean_logprob(child)) if child.num_tokens != 0 else 0.0
        return
    scores = [mean_logprob(c) if mode == "softmax" else (c.prior_logprob or 0.0) for c in children]
    for child, p in zip(children, softmax(scores)):
        child.prior = p


def softmax(xs: Sequence[float]) -> list[float]:
    if not xs:
        return []
    top = max(xs)
    weights = [math.exp(x - top) for x in xs]
    total = sum(weights)
    return [w / total for w in weights]


def terminal_reward(node: Node, positive: float = 1.0, negative: float = -1.0) -> float:
    """r(s) of a terminal node: ``positive`` if the verifier said equal, else ``negative``.

    An undecidable verdict (an unfinished branch, see ``transforms.search.endings``, no answer
    found, a timeout) counts as wrong, as in Super_MARIO and rStar (``eval_final_answer`` gives
    ``NO_VALID_CHILD``, ``TOO_MANY_STEPS`` and ``TOO_MANY_CODE_ERRORS`` the negative reward).
    """
    return positive if node.verdict is not None and node.verdict.equal else negative


def path_from_root(node: Node) -> list[Node]:
    """[root, ..., node]."""
    chain = [node]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain[::-1]


def backup(node: Node, value: float) -> None:
    """N += 1 and W += value for ``node`` and every ancestor up to the root (mean-value backup)."""
    for step in path_from_root(node):
        step.visits += 1
        step.value_sum += value


def is_exhausted(node: Node, ended: Callable[[Node], bool] | None = None) -> bool:
    """Nothing more to learn below ``node`` (see the module docstring).

    ``ended`` lets an algorithm add its own leaf stop rule (ReST-MCTS*'s value gate).
    """
    if not node.children:
        return (node.is_terminal and node.visits > 0) or (ended is not None and ended(node))
    return all(is_exhausted(child, ended) for child in node.children)


def best_child(node: Node, score: Callable[[Node], float], ended: Callable[[Node], bool] | None = None) -> Node | None:
    """The non-exhausted child with the highest ``score``; ties go to the lowest child index.

    The papers' code breaks ties at random (Super_MARIO, ReST-MCTS*); the first index keeps runs
    reproducible without a random state.
    """
    best, best_score = None, -math.inf
    for child in node.children:
        if is_exhausted(child, ended):
            continue
        value = score(child)
        if best is None or value > best_score:
            best, best_score = child, value
    return best


def descend(root: Node, score: Callable[[Node], float], ended: Callable[[Node], bool] | None = None) -> Node | None:
    """Follow ``best_child`` from the root down to a node without children; None if the root is exhausted."""
    if is_exhausted(root, ended):
        return None
    node = root
    while node.children:
        node = best_child(node, score, ended)
    return node


def score_requests(tree: Tree, nodes: Iterable[Node], env: SearchEnv | None = None) -> tuple[ScoreRequest, ...]:
    """One scorer request per node: the question and the node's steps as the policy saw them (in code
    mode each step with its execution output, ``SearchEnv.scored_steps``; without ``env`` the step texts)."""
    return tuple(ScoreRequest(tree.question, env.scored_steps(node) if env else node.steps()) for node in nodes)
