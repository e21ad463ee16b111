"""Advance many search trees continuously: each tree moves on as soon as its own call returns.

The lock-step ``Scheduler`` (``transforms.search.scheduler``) waits, every round, for the slowest
sequence of the round and leaves the engine idle while the search works between rounds. Here every
``Generate``/``Submit`` goes to the policy the moment a tree yields it (``StreamingPolicy.submit``;
vLLM adds it to the running batch at its next step), and ``poll`` hands back each request as it
finishes, so a tree whose step ended early is already sampling its next one while long ones run.

Order of work in the loop: trees waiting on a ``Score`` or ``Execute`` are served first, in one batched
scorer / sandbox call (those are synchronous), then the engine is polled once (vLLM: one or more
engine steps, until a request finishes) and every tree whose awaited generation is complete is resumed
at once (its next requests join the running batch before the next step).

Determinism: a tree's search is a sequential generator, and what it receives never depends on timing:
each request carries its own seed (``SearchEnv.seed_for``), results are delivered only at the
``Await`` that names them, and tokens count towards the budget on delivery (``TreeRun``). So a tree is
the same whatever other trees run beside it, in whatever order the engine finishes requests, and the
same as under the lock-step scheduler: ``tests/transforms/search/test_continuous.py`` checks it with
fakes that finish requests in shuffled order and on the real engine with 1 and 32 trees at once.

Several generations in flight per tree (``Submit``/``Await``), by search:

- ``mcts-alphamath``: yes, ``parallel`` = K selections in flight with virtual loss (the rule and what
  it changes are in ``transforms.search.mcts_alphamath``); K = 1 (default) is the paper's search.
- ``mcts-rstar``: yes, ``parallel`` = K rollouts in flight (``transforms.search.inflight``: each
  rollout holds a virtual loss on its path while it waits on an expansion).
- ``rest-mcts``: yes, ``parallel`` = K iterations in flight (same driver); the stop rule (a node at
  the value gate) stops new iterations, and those already in flight are finished and kept.
- ``sbs`` and ``best-of-n``: no need: every expansion of a beam depth (every sample) already goes out
  in one call, and the next depth needs all of them (a top-k over the candidates).

With parallel selections a tree is still a pure function of its problem, seed and K: results are
applied in the order the search made the selections, never in the order the engine finishes them.

A ``Policy`` with only ``generate`` (no ``submit``/``poll``) is wrapped by ``BatchedStream``: each poll
runs everything queued in one ``generate``, which still lets trees move on without waiting for the
others' scorer or sandbox calls.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from transforms.protocols import Executor, Generation, GenerationRequest, Policy, Scorer, StreamingPolicy
from transforms.search.base import Execute, Generate, Score, SearchEnv
from transforms.search.scheduler import (
    Scheduler, SchedulerStats, SearchFn, SearchOutcome, TreeRun, run_executor, run_scorer, start_trees,
)
from transforms.search.tree import Tree


class BatchedStream:
    """``submit``/``poll`` over a Policy that only has ``generate``: a poll runs all queued requests at once."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.queue: list[tuple[int, GenerationRequest]] = []
        self.tickets = 0

    def submit(self, requests: Sequence[GenerationRequest]) -> list[int]:
        tickets = list(range(self.tickets, self.tickets + len(requests)))
        self.tickets += len(requests)
        self.queue += zip(tickets, requests)
        return tickets

    def poll(self) -> list[tuple[int, Generation]]:
        batch, self.queue = self.queue, []
        if not batch:
            return []
        return list(zip([t for t, _ in batch], self.policy.generate([r for _, r in batch])))


def as_stream(policy: Policy):
    """The policy itself if it streams (``StreamingPolicy``), else a ``BatchedStream`` over it."""
    return policy if isinstance(policy, StreamingPolicy) else BatchedStream(policy)


class _Pending:
    """One submitted generation of one tree: its requests' results as they arrive."""

    def __init__(self, run: TreeRun, handle: int, size: int):
        self.run, self.handle = run, handle
        self.results: list[Generation | None] = [None] * size
        self.missing = size


class ContinuousScheduler:
    """Runs one search algorithm over many trees; each tree's requests go to the engine as they arise."""

    def __init__(self, policy: Policy, scorer: Scorer | None = None, executor: Executor | None = None):
        self.policy, self.scorer, self.executor = policy, scorer, executor
        self.stream = as_stream(policy)
        self.stats = SchedulerStats()

    def run(self, trees: Sequence[Tree], search_fn: SearchFn, config: Any,
            make_env: Callable[[], SearchEnv]) -> list[SearchOutcome]:
        tickets: dict[int, tuple[_Pending, int]] = {}  # engine ticket -> (generation, request position)
        in_flight = [0]  # sequences submitted and not yet returned

        def on_submit(run: TreeRun, handle: int, generate: Generate) -> None:
            pending = _Pending(run, handle, len(generate.requests))
            start = time.perf_counter()
            for position, ticket in enumerate(self.stream.submit(list(generate.requests))):
                tickets[ticket] = (pending, position)
            self.stats.policy_seconds += time.perf_counter() - start
            self.stats.requests += len(generate.requests)
            in_flight[0] += sum(r.sampling.n for r in generate.requests)
            if not generate.requests:
                run.results[handle] = []

        outcomes, waiting = start_trees(trees, search_fn, config, make_env, on_submit)
        try:
            self._loop(waiting, tickets, in_flight)
        finally:
            # Requests of a tree that failed (or never awaited them) must not stay in the engine, where
            # the next run would receive them.
            while tickets:
                for ticket, _ in self.stream.poll():
                    tickets.pop(ticket, None)
        return outcomes

    def _loop(self, waiting: list[TreeRun], tickets: dict, in_flight: list[int]) -> None:
        while waiting:
            served = self._serve_synchronous(waiting)
            if served:
                waiting = [run for run in waiting if run not in served] + [run for run in served if run.step(served[run])]
                continue
            ready = self._ready(waiting) or self._poll(tickets, in_flight)
            resumed = {id(run) for run in ready}
            waiting = [run for run in waiting if id(run) not in resumed] + [
                run for run in ready if run.step(run.deliver(run.awaiting))]

    def _ready(self, waiting: list[TreeRun]) -> list[TreeRun]:
        """Trees whose awaited generation is already complete (e.g. an empty Submit)."""
        return [run for run in waiting if run.awaiting is not None and run.awaiting in run.results]

    def _poll(self, tickets: dict, in_flight: list[int]) -> list[TreeRun]:
        """Poll the engine once; store finished generations; return the trees whose awaited one is complete."""
        if not tickets:
            raise RuntimeError("every search waits on a generation, but none is in flight")
        self.stats.batch_sizes.append(in_flight[0])
        start = time.perf_counter()
        finished = self.stream.poll()
        self.stats.policy_seconds += time.perf_counter() - start
        self.stats.rounds += 1
        self.stats.policy_calls += 1
        ready = []
        for ticket, generation in finished:
            pending, position = tickets.pop(ticket)
            pending.results[position] = generation
            pending.missing -= 1
            self.stats.count_generations([generation])
            in_flight[0] -= len(generation.samples)
            run = pending.run
            if pending.missing == 0 and not run.failed:
                run.results[pending.handle] = list(pending.results)
                if run.awaiting == pending.handle:
                    ready.append(run)
        return ready

    def _serve_synchronous(self, waiting: list[TreeRun]) -> dict[TreeRun, list]:
        """One batched scorer call for every tree waiting on a Score, one sandbox call for every Execute."""
        replies: dict[TreeRun, list] = {}
        for kind, call_batch in ((Score, self._score), (Execute, self._execute)):
            members = [run for run in waiting if isinstance(run.call, kind)]
            if not members:
                continue
            payloads = [run.call.requests if kind is Score else run.call.codes for run in members]
            flat = call_batch([x for payload in payloads for x in payload])
            for run, payload in zip(members, payloads):
                replies[run], flat = flat[:len(payload)], flat[len(payload):]
        return replies

    def _score(self, requests: list) -> list:
        return run_scorer(self.scorer, self.stats, requests)

    def _execute(self, codes: list) -> list:
        return run_executor(self.executor, self.stats, codes)


SCHEDULERS = ("continuous", "lockstep")


def make_scheduler(kind: str, policy: Policy, scorer: Scorer | None = None, executor: Executor | None = None):
    """``continuous`` (the default for runs) or ``lockstep`` (the reference, kept for benchmarks)."""
    if kind not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {kind!r}; choose one of {', '.join(SCHEDULERS)}")
    cls = ContinuousScheduler if kind == "continuous" else Scheduler
    return cls(policy, scorer=scorer, executor=executor)
