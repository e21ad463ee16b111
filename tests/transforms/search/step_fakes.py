"""Fakes for step-level search tests: a policy scripted per partial solution, and a table scorer.

``StepPolicy`` reads the steps so far back out of the prompt (the ``ScriptedPolicy`` chat prompt
followed by steps joined with blank lines), so a script says, for each partial solution, which steps
the policy samples next. Every call is recorded as the list of partial solutions it expanded.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from tests.fakes import ExactVerifier, ScriptedPolicy
from transforms.protocols import Generation, GenerationRequest, Sample
from transforms.search.base import SearchEnv
from transforms.search.scheduler import Scheduler
from transforms.search.tree import Tree

Steps = tuple[str, ...]
CRITIC_MARK = "Reply with one word"


def steps_of(prompt: str) -> Steps:
    """The partial solution in a prompt built by ``SearchEnv.prompt`` over ``ScriptedPolicy.chat_prompt``."""
    tail = prompt.split("</q>\n", 1)[1]
    return tuple(step for step in tail.split("\n\n") if step)


class StepPolicy(ScriptedPolicy):
    """Sample i after partial solution s is ``script[s][i]`` (cycled); unscripted -> ``default``.

    A scripted step is text, or (text, logprob per token) to give steps different priors, or (text,
    logprob per token, finish reason) for a step cut by the token limit (``length``) or ending with EOS.
    ``critic`` answers self-critic prompts (ReST-MCTS*): it gets the critic prompt's text.
    """

    def __init__(self, script: Mapping[Steps, Sequence], default: str = "#### answer: 0",
                 critic: Callable[[str], str] | None = None):
        super().__init__(lambda prompt, i, seed: "")
        self.script, self.default, self.critic = script, default, critic
        self.expanded: list[list[Steps]] = []  # per call: the partial solution of each request

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.calls.append(list(requests))
        self.expanded.append([("<critic>",) if CRITIC_MARK in r.prompt else steps_of(r.prompt) for r in requests])
        return [Generation(tuple(self._sample(r, i) for i in range(r.sampling.n)), prompt_tokens=len(r.prompt.split()))
                for r in requests]

    def _sample(self, request: GenerationRequest, index: int) -> Sample:
        if CRITIC_MARK in request.prompt:
            text, logprob, finish = (self.critic(request.prompt) if self.critic else "unsolved"), -0.5, "stop"
        else:
            options = self.script.get(steps_of(request.prompt), [self.default])
            text, logprob, finish = _entry(options[index % len(options)])
        tokens = text.split()
        return Sample(text=text, num_tokens=len(tokens), finish_reason=finish,
                      cumulative_logprob=logprob * len(tokens))


def _entry(option) -> tuple[str, float, str]:
    """A scripted step: text, or (text, logprob per token), or (text, logprob per token, finish reason)."""
    if isinstance(option, str):
        return option, -0.5, "stop"
    return option[0], option[1], option[2] if len(option) > 2 else "stop"


class TableScorer:
    """Scores a partial solution from a table (default ``default``); records each call's partial solutions."""

    model_id = "table"

    def __init__(self, table: Mapping[Steps, float], default: float = 0.0):
        self.table, self.default = table, default
        self.calls: list[list[Steps]] = []

    def score(self, requests) -> list[float]:
        self.calls.append([r.steps for r in requests])
        return [self.table.get(r.steps, self.default) for r in requests]


def run_search(name: str, params: dict, policy, trees: Sequence[Tree] | None = None, scorer=None, seed: int = 3,
               max_tokens_per_problem: int | None = None):
    """Run search ``name`` over ``trees`` (default: one problem 'q' with gold 5); returns the outcomes."""
    from transforms.search import get_search

    algorithm = get_search(name)
    trees = list(trees or [Tree("p", "q", "5")])
    scheduler = Scheduler(policy, scorer=scorer)

    def make_env():
        return SearchEnv(chat_prompt=lambda q: policy.chat_prompt(q, "sys"), verifier=ExactVerifier(), seed=seed,
                         has_scorer=scorer is not None, max_tokens_per_problem=max_tokens_per_problem)

    outcomes = scheduler.run(trees, algorithm.search, algorithm.make_config(params), make_env)
    errors = [o.error for o in outcomes if o.error]
    assert not errors, errors
    return outcomes


def by_steps(tree: Tree) -> dict[Steps, object]:
    """Nodes keyed by their partial solution (steps from the root)."""
    return {node.steps(): node for node in tree.nodes()}
