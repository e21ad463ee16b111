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

Problems can also stream through a running search (``ContinuousScheduler.open`` -> ``TreeStream``):
a new tree joins as soon as another finishes, so the engine does not thin out at the end of every
batch of problems. ``SearchDoFn`` (``transforms.runner.run_search``) runs ``generate`` this way.

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
    Scheduler, SchedulerStats, SearchFn, SearchOutcome, TreeRun, run_executor, run_scorer,
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
        """Every tree at once; the outcomes in the order of ``trees``."""
        with self.open(search_fn, config, make_env) as search:
            outcomes = [search.add(tree) for tree in trees]
            search.drain()
        return outcomes

    def open(self, search_fn: SearchFn, config: Any, make_env: Callable[[], SearchEnv]) -> "TreeStream":
        """A ``TreeStream``: trees added one by one while the others run, handed back as each finishes."""
        return TreeStream(self, search_fn, config, make_env)


class TreeStream:
    """Trees that join a running continuous search one at a time and leave it as each finishes.

    ``add`` starts a tree (its first requests join the engine's running batch); ``advance`` does one
    unit of work (the waiting scorer / sandbox calls, or one engine poll) and returns the trees that
    finished in it. A caller that adds the next problem whenever one finishes keeps the engine as full
    at the end of a long run as in its middle: trees that all start together finish at different times,
    and the batch thins out while the last ones run (``pipelines.generate`` admits problems this way,
    ``--batch-size`` trees at a time). A tree depends only on its problem, seed and search settings
    (per-request seeds; see the module docstring), never on which trees run beside it, so the order in
    which trees join or leave changes nothing in them.
    """

    def __init__(self, scheduler: ContinuousScheduler, search_fn: SearchFn, config: Any,
                 make_env: Callable[[], SearchEnv]):
        self.scheduler, self.search_fn, self.config, self.make_env = scheduler, search_fn, config, make_env
        self.added = 0
        self.finished: list[SearchOutcome] = []  # finished and not yet handed back
        self.waiting: list[TreeRun] = []  # trees not finished, each waiting on a call
        self.tickets: dict[int, tuple[_Pending, int]] = {}  # engine ticket -> (generation, request position)
        self.in_flight = 0  # sequences submitted and not yet returned

    @property
    def open_trees(self) -> int:
        return len(self.waiting)

    def add(self, tree: Tree) -> SearchOutcome:
        """Start ``tree``; its outcome, complete once ``advance``/``admit``/``drain`` hands it back."""
        outcome = SearchOutcome(tree=tree, env=self.make_env())
        run = TreeRun(self.added, outcome, self.search_fn(tree, self.config, outcome.env), self._submit)
        self.added += 1
        if run.step(None):
            self.waiting.append(run)
        else:
            self.finished.append(outcome)
        return outcome

    def admit(self, tree: Tree, window: int) -> list[SearchOutcome]:
        """Advance until fewer than ``window`` trees are open, then add ``tree``: the trees that finished
        meanwhile (``tree`` too, if it finished at once)."""
        if window < 1:
            raise ValueError(f"window must be at least 1 tree, got {window}")
        finished = []
        while self.open_trees >= window:
            finished += self.advance()
        self.add(tree)
        return finished + self._take_finished()

    def drain(self) -> list[SearchOutcome]:
        """Advance until every tree has finished; those that finished."""
        finished = []
        while self.open_trees:
            finished += self.advance()
        return finished + self._take_finished()

    def advance(self) -> list[SearchOutcome]:
        """Serve the waiting scorer and sandbox calls, or else poll the engine once; the trees that finished."""
        if not self.waiting:
            return self._take_finished()
        replies = self._serve_synchronous()
        if not replies:
            # A generation is delivered just before its tree steps, so tokens count in the search's order.
            replies = {run: None for run in self._ready() or self._poll()}
        self.waiting = [run for run in self.waiting if run not in replies]
        for run, reply in replies.items():
            if run.step(run.deliver(run.awaiting) if reply is None else reply):
                self.waiting.append(run)
            else:
                self.finished.append(run.outcome)
        return self._take_finished()

    def _take_finished(self) -> list[SearchOutcome]:
        finished, self.finished = self.finished, []
        return finished

    def close(self) -> None:
        """Collect requests still in the engine (a tree that failed, or never awaited them): the next
        search on this engine must not receive them."""
        while self.tickets:
            for ticket, _ in self.scheduler.stream.poll():
                self.tickets.pop(ticket, None)

    def __enter__(self) -> "TreeStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _submit(self, run: TreeRun, handle: int, generate: Generate) -> None:
        s = self.scheduler
        pending = _Pending(run, handle, len(generate.requests))
        start = time.perf_counter()
        for position, ticket in enumerate(s.stream.submit(list(generate.requests))):
            self.tickets[ticket] = (pending, position)
        s.stats.policy_seconds += time.perf_counter() - start
        s.stats.requests += len(generate.requests)
        self.in_flight += sum(r.sampling.n for r in generate.requests)
        if not generate.requests:
            run.results[handle] = []

    def _ready(self) -> list[TreeRun]:
        """Trees whose awaited generation is already complete (e.g. an empty Submit)."""
        return [run for run in self.waiting if run.awaiting is not None and run.awaiting in run.results]

    def _poll(self) -> list[TreeRun]:
        """Poll the engine once; store finished generations; return the trees whose awaited one is complete."""
        if not self.tickets:
            raise RuntimeError("every search waits on a generation, but none is in flight")
        stats = self.scheduler.stats
        stats.batch_sizes.append(self.in_flight)
        start = time.perf_counter()
        finished = self.scheduler.stream.poll()
        stats.policy_seconds += time.perf_counter() - start
        stats.rounds += 1
        stats.policy_calls += 1
        ready = []
        for ticket, generation in finished:
            pending, position = self.tickets.pop(ticket)
            pending.results[position] = generation
            pending.missing -= 1
            stats.count_generations([generation])
            self.in_flight -= len(generation.samples)
            run = pending.run
            if pending.missing == 0 and not run.failed:
                run.results[pending.handle] = list(pending.results)
                if run.awaiting == pending.handle:
                    ready.append(run)
        return ready

    def _serve_synchronous(self) -> dict[TreeRun, list]:
        """One batched scorer call for every tree waiting on a Score, one sandbox call for every Execute."""
        s = self.scheduler
        replies: dict[TreeRun, list] = {}
        for kind, call_batch in ((Score, lambda requests: run_scorer(s.scorer, s.stats, requests)),
                                 (Execute, lambda codes: run_executor(s.executor, s.stats, codes))):
            members = [run for run in self.waiting if isinstance(run.call, kind)]
            if not members:
                continue
            payloads = [run.call.requests if kind is Score else run.call.codes for run in members]
            flat = call_batch([x for payload in payloads for x in payload])
            for run, payload in zip(members, payloads):
                replies[run], flat = flat[:len(payload)], flat[len(payload):]
        return replies


SCHEDULERS = ("continuous", "lockstep")


def make_scheduler(kind: str, policy: Policy, scorer: Scorer | None = None, executor: Executor | None = None):
    """``continuous`` (the default for runs) or ``lockstep`` (the reference, kept for benchmarks)."""
    if kind not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {kind!r}; choose one of {', '.join(SCHEDULERS)}")
    cls = ContinuousScheduler if kind == "continuous" else Scheduler
    return cls(policy, scorer=scorer, executor=executor)
