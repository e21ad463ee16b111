"""Advance many search trees in lock-step, merging each round's calls into one engine call.

Each round, every active tree's generator has exactly one pending call. All ``Generate`` calls (and
every ``Submit``-ted generation of a tree that now ``Await``-s one) are concatenated into one
``policy.generate``; all ``Score`` calls into one ``scorer.score``; all ``Execute`` calls into one
``executor.execute_many``. Results are sliced back in order, and every request carries its own seed
(``SearchEnv.seed_for``), so a tree does not depend on which other trees share its calls:
``test_a_tree_is_the_same_whatever_else_is_in_the_batch`` checks it on the real engine (vLLM CPU, the
tiny model; the sampled text is identical, log-probabilities agree to 1e-3). A tree whose algorithm
raises is reported as failed (its problem becomes a dead letter) and the others go on.

No tree moves on until every tree's call of the round has returned, so the engine idles while the
slowest sequence of a round finishes and while the search works between rounds: the
``ContinuousScheduler`` (``transforms.search.continuous``) removes both waits and grows the same trees;
this one stays as the reference and for ``bench/search_bench.py``'s side-by-side measurement.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from transforms.protocols import Executor, Policy, Scorer
from transforms.search.base import Await, Execute, Generate, Score, SearchEnv, SearchGenerator, Submit
from transforms.search.tree import Tree

log = logging.getLogger(__name__)

SearchFn = Callable[[Tree, Any, SearchEnv], SearchGenerator]


@dataclass
class SearchOutcome:
    tree: Tree
    env: SearchEnv
    error: str | None = None


@dataclass
class SchedulerStats:
    rounds: int = 0  # lock-step: rounds; continuous: engine polls
    policy_calls: int = 0
    requests: int = 0
    generated_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    score_calls: int = 0
    execute_calls: int = 0
    batch_sizes: list[int] = field(default_factory=list)  # sequences per engine call (continuous: in flight per poll)
    policy_seconds: float = 0.0  # wall time inside the policy (the rest of a run is search work)
    score_seconds: float = 0.0

    def count_generations(self, generations: Sequence) -> None:
        for g in generations:
            self.generated_tokens += sum(sample.num_tokens for sample in g.samples)
            self.prompt_tokens += g.prompt_tokens
            self.cached_prompt_tokens += g.cached_prompt_tokens or 0


class TreeRun:
    """One tree's search generator, stepped until it yields a call that must wait.

    ``Submit`` gets its handle back at once (``on_submit`` decides when the requests reach the
    engine); an ``Await`` of a handle whose results are in is answered at once; a ``Generate`` is a
    ``Submit`` followed by its ``Await``. Generated tokens count towards the tree's budget
    (``env.generated_tokens``) when the search receives them, a point fixed by the search's own
    order of calls, so the budget check does not depend on timing.
    """

    def __init__(self, index: int, outcome: SearchOutcome, generator: SearchGenerator,
                 on_submit: Callable[["TreeRun", int, Generate], None]):
        self.index, self.outcome, self.generator, self.on_submit = index, outcome, generator, on_submit
        self.call: Any = None  # the call the tree waits on: Await, Score or Execute
        self.results: dict[int, list] = {}  # handle -> generations, finished and not yet awaited
        self.handles = 0
        self.failed = False

    @property
    def awaiting(self) -> int | None:
        return self.call.handle if isinstance(self.call, Await) else None

    def step(self, value: Any) -> bool:
        """Send ``value`` in and run to the next call that must wait; False once the tree is done."""
        while True:
            try:
                call = self.generator.send(value)
            except StopIteration:
                self.call = None
                return False
            except Exception as err:  # noqa: BLE001 - one tree's failure must not stop the batch
                return self._fail(f"{type(err).__name__}: {err}", warn=True)
            if isinstance(call, Generate):
                call = Await(self._submit(call))
            if isinstance(call, Submit):
                value = self._submit(call.generate)
                continue
            if isinstance(call, Await):
                if call.handle in self.results:
                    value = self.deliver(call.handle)
                    continue
                if not 0 <= call.handle < self.handles:
                    return self._fail(f"search awaited handle {call.handle!r}, which it never submitted")
            elif not isinstance(call, (Score, Execute)):
                return self._fail(f"search yielded {type(call).__name__}, not a Generate/Submit/Await/Score/Execute call")
            self.call = call
            return True

    def deliver(self, handle: int) -> list:
        generations = self.results.pop(handle)
        self.outcome.env.generated_tokens += sum(s.num_tokens for g in generations for s in g.samples)
        return generations

    def _submit(self, generate: Generate) -> int:
        handle, self.handles = self.handles, self.handles + 1
        self.on_submit(self, handle, generate)
        return handle

    def _fail(self, reason: str, warn: bool = False) -> bool:
        if warn:
            log.warning("search failed on %s: %s", self.outcome.tree.problem_id, reason)
        self.outcome.error, self.call, self.failed = reason, None, True
        return False


def start_trees(trees: Sequence[Tree], search_fn: SearchFn, config: Any, make_env: Callable[[], SearchEnv],
                on_submit: Callable[[TreeRun, int, Generate], None]) -> tuple[list[SearchOutcome], list[TreeRun]]:
    """An outcome per tree, and the trees that wait on a call after their first step."""
    outcomes = [SearchOutcome(tree=t, env=make_env()) for t in trees]
    runs = [TreeRun(i, o, search_fn(o.tree, config, o.env), on_submit) for i, o in enumerate(outcomes)]
    return outcomes, [run for run in runs if run.step(None)]


class Scheduler:
    """Runs one search algorithm over many trees with shared, batched engine calls, in rounds."""

    def __init__(self, policy: Policy, scorer: Scorer | None = None, executor: Executor | None = None):
        self.policy, self.scorer, self.executor = policy, scorer, executor
        self.stats = SchedulerStats()

    def run(self, trees: Sequence[Tree], search_fn: SearchFn, config: Any,
            make_env: Callable[[], SearchEnv]) -> list[SearchOutcome]:
        submitted: dict[int, list[tuple[int, Generate]]] = {}  # tree index -> generations not yet run

        def on_submit(run: TreeRun, handle: int, generate: Generate) -> None:
            submitted.setdefault(run.index, []).append((handle, generate))

        outcomes, active = start_trees(trees, search_fn, config, make_env, on_submit)
        while active:
            self.stats.rounds += 1
            replies = self._dispatch(active, submitted)
            active = [run for run, reply in zip(active, replies) if run.step(reply)]
        return outcomes

    def _dispatch(self, active: list[TreeRun], submitted: dict[int, list]) -> list:
        """One engine call per call kind for the whole round; return what each tree receives."""
        replies: list = [None] * len(active)
        generate_batch = []  # (run, handle, requests): every submitted generation of a tree that awaits
        for run in active:
            if run.awaiting is not None:
                generate_batch += [(run, handle, g.requests) for handle, g in submitted.pop(run.index, [])]
        if generate_batch:
            flat = self._generate([r for _, _, requests in generate_batch for r in requests])
            for run, handle, requests in generate_batch:
                run.results[handle], flat = flat[:len(requests)], flat[len(requests):]
        for kind, run_batch in ((Score, self._score), (Execute, self._execute)):
            members = [i for i, run in enumerate(active) if isinstance(run.call, kind)]
            if not members:
                continue
            payloads = [_payload(active[i].call) for i in members]
            flat = run_batch([x for payload in payloads for x in payload])
            for i, payload in zip(members, payloads):
                replies[i], flat = flat[:len(payload)], flat[len(payload):]
        for i, run in enumerate(active):
            if run.awaiting is not None:
                replies[i] = run.deliver(run.awaiting)
        return replies

    def _generate(self, requests: list) -> list:
        start = time.perf_counter()
        generations = self.policy.generate(requests)
        s = self.stats
        s.policy_seconds += time.perf_counter() - start
        s.policy_calls += 1
        s.requests += len(requests)
        s.batch_sizes.append(sum(r.sampling.n for r in requests))
        s.count_generations(generations)
        return generations

    def _score(self, requests: list) -> list:
        return run_scorer(self.scorer, self.stats, requests)

    def _execute(self, codes: list) -> list:
        return run_executor(self.executor, self.stats, codes)


def run_scorer(scorer: Scorer | None, stats: SchedulerStats, requests: list) -> list:
    if scorer is None:
        raise RuntimeError("this search needs a scorer (value model); none was configured")
    stats.score_calls += 1
    start = time.perf_counter()
    scores = scorer.score(requests)
    stats.score_seconds += time.perf_counter() - start
    return scores


def run_executor(executor: Executor | None, stats: SchedulerStats, codes: list) -> list:
    if executor is None:
        raise RuntimeError("this search runs code steps but no executor was configured")
    stats.execute_calls += 1
    return executor.execute_many(codes)


def _payload(call) -> tuple:
    return call.requests if isinstance(call, Score) else call.codes
