"""Advance many search trees in lock-step, merging each round's calls into one engine call.

Each round, every active tree's generator has exactly one pending call. All ``Generate`` calls are
concatenated into one ``policy.generate``; all ``Score`` calls into one ``scorer.score``; all
``Execute`` calls into one ``executor.execute_many``. Results are sliced back in order, and every
request carries its own seed (``SearchEnv.seed_for``), so a tree does not depend on which other trees
share its calls: ``test_a_tree_is_the_same_whatever_else_is_in_the_batch`` checks it on the real
engine (vLLM CPU, the tiny model; the sampled text is identical, log-probabilities agree to 1e-3). A tree whose algorithm raises is
reported as failed (its problem becomes a dead letter) and the others go on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from transforms.protocols import Executor, Policy, Scorer
from transforms.search.base import Execute, Generate, Score, SearchEnv, SearchGenerator
from transforms.search.tree import Tree

log = logging.getLogger(__name__)


@dataclass
class SearchOutcome:
    tree: Tree
    env: SearchEnv
    error: str | None = None


@dataclass
class SchedulerStats:
    rounds: int = 0
    policy_calls: int = 0
    requests: int = 0
    generated_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    score_calls: int = 0
    execute_calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    policy_seconds: float = 0.0  # wall time inside policy.generate (the rest of a run is search work)
    score_seconds: float = 0.0


@dataclass
class _Active:
    index: int
    generator: SearchGenerator
    call: Any


class Scheduler:
    """Runs one search algorithm over many trees with shared, batched engine calls."""

    def __init__(self, policy: Policy, scorer: Scorer | None = None, executor: Executor | None = None):
        self.policy, self.scorer, self.executor = policy, scorer, executor
        self.stats = SchedulerStats()

    def run(self, trees: Sequence[Tree], search_fn: Callable[[Tree, Any, SearchEnv], SearchGenerator],
            config: Any, make_env: Callable[[], SearchEnv]) -> list[SearchOutcome]:
        outcomes = [SearchOutcome(tree=t, env=make_env()) for t in trees]
        active = []
        for i, outcome in enumerate(outcomes):
            generator = search_fn(outcome.tree, config, outcome.env)
            self._advance(active, outcomes, _Active(i, generator, None), None)
        while active:
            self.stats.rounds += 1
            results = self._dispatch(active, outcomes)
            still = []
            for item, result in zip(active, results):
                self._advance(still, outcomes, item, result)
            active = still
        return outcomes

    def _advance(self, active: list, outcomes: list, item: _Active, result: Any) -> None:
        """Send ``result`` into the generator; keep it active if it yields another call."""
        try:
            item.call = item.generator.send(result)
        except StopIteration:
            return
        except Exception as err:  # noqa: BLE001 - one tree's failure must not stop the batch
            log.warning("search failed on %s: %s", outcomes[item.index].tree.problem_id, err)
            outcomes[item.index].error = f"{type(err).__name__}: {err}"
            return
        if not isinstance(item.call, (Generate, Score, Execute)):
            outcomes[item.index].error = f"search yielded {type(item.call).__name__}, not a Generate/Score/Execute call"
            return
        active.append(item)

    def _dispatch(self, active: list[_Active], outcomes: list[SearchOutcome]) -> list[list]:
        """Issue one engine call per call kind for the whole round; return each tree's slice."""
        results: list[list] = [[] for _ in active]
        for kind, run_batch in ((Generate, self._generate), (Score, self._score), (Execute, self._execute)):
            members = [i for i, item in enumerate(active) if isinstance(item.call, kind)]
            if not members:
                continue
            payloads = [_payload(active[i].call) for i in members]
            flat = run_batch([x for payload in payloads for x in payload])
            start = 0
            for i, payload in zip(members, payloads):
                results[i] = flat[start:start + len(payload)]
                start += len(payload)
                if kind is Generate:
                    outcomes[active[i].index].env.generated_tokens += sum(
                        s.num_tokens for g in results[i] for s in g.samples)
        return results

    def _generate(self, requests: list) -> list:
        start = time.perf_counter()
        generations = self.policy.generate(requests)
        s = self.stats
        s.policy_seconds += time.perf_counter() - start
        s.policy_calls += 1
        s.requests += len(requests)
        s.batch_sizes.append(sum(r.sampling.n for r in requests))
        for g in generations:
            s.generated_tokens += sum(sample.num_tokens for sample in g.samples)
            s.prompt_tokens += g.prompt_tokens
            s.cached_prompt_tokens += g.cached_prompt_tokens or 0
        return generations

    def _score(self, requests: list) -> list:
        if self.scorer is None:
            raise RuntimeError("this search needs a scorer (value model); none was configured")
        self.stats.score_calls += 1
        start = time.perf_counter()
        scores = self.scorer.score(requests)
        self.stats.score_seconds += time.perf_counter() - start
        return scores

    def _execute(self, codes: list) -> list:
        if self.executor is None:
            raise RuntimeError("this search runs code steps but no executor was configured")
        self.stats.execute_calls += 1
        return self.executor.execute_many(codes)


def _payload(call) -> tuple:
    if isinstance(call, Generate):
        return call.requests
    if isinstance(call, Score):
        return call.requests
    return call.codes
