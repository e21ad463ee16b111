"""Several selections of one tree in flight at once: the task driver and the virtual-loss counts.

A tree search that runs one selection at a time leaves the engine with one request per tree; on an
engine whose throughput grows with the number of sequences in flight (bench/search_bench.py
``--raw-widths``), few trees then cannot fill it. ``interleave`` runs up to ``parallel`` *tasks* of one
tree at once (an rStar rollout, a ReST-MCTS* iteration): each task is a generator that yields the
usual calls (``Generate``, ``Score``, ``Execute``) and does its own bookkeeping when it receives the
results. Its ``Generate`` is submitted (``Submit``) and the driver moves on to start the next task;
results are handed back strictly in the order the generations were submitted (``Await`` of the
oldest), never in the order the engine finishes them, so the tree is a pure function of its problem,
seed and ``parallel`` under either scheduler. ``Score`` and ``Execute`` pass straight through (they
are synchronous).

With ``parallel`` = 1 the driver makes exactly the calls the task would make alone (a ``Submit``
followed at once by its ``Await`` is what a ``Generate`` is), so the search is the sequential one.

Virtual loss (parallel MCTS, Chaslot et al. 2008; AlphaGo Zero's self-play search) keeps the tasks
apart: while a task waits on the engine, every node on its path counts one more visit whose value is
``-virtual_loss`` (``VirtualLoss``); the node it expands is not selectable until its steps are back.
The counts are removed before the task's real update, so stored N and W hold real visits only.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable

from transforms.search.base import Await, Generate, SearchGenerator, Submit
from transforms.search.tree import Node


def interleave(next_task: Callable[[], SearchGenerator | None], parallel: int) -> SearchGenerator:
    """Run tasks from ``next_task`` (None: none can start now) with up to ``parallel`` generations in flight.

    The driver returns when no task is in flight and ``next_task`` gives none. A task that cannot start
    because the others hold what it would select must return None from ``next_task`` until some
    result has been applied (else the driver would start it again and again).
    """
    waiting: deque[tuple[SearchGenerator, int]] = deque()  # (task, handle), oldest submission first
    while True:
        while len(waiting) < parallel:
            task = next_task()
            if task is None:
                break
            entry = yield from _advance(task, None)
            if entry is not None:
                waiting.append(entry)
        if not waiting:
            return
        task, handle = waiting.popleft()
        generations = yield Await(handle)
        entry = yield from _advance(task, generations)
        if entry is not None:
            waiting.append(entry)


def _advance(task: SearchGenerator, value) -> SearchGenerator:
    """Send ``value`` into ``task`` and run it to its next generation (submitted; returns (task, handle))
    or to its end (returns None); its synchronous calls are answered on the way."""
    while True:
        try:
            call = task.send(value)
        except StopIteration:
            return None
        if isinstance(call, Generate):
            handle = yield Submit(call)
            return task, handle
        value = yield call


class VirtualLoss:
    """Selections in flight per node, and the visit counts and value sums selection sees with them."""

    def __init__(self, virtual_loss: float):
        self.virtual_loss = virtual_loss
        self.counts: dict[Node, int] = {}
        self.expanding: set[Node] = set()  # nodes whose steps are being generated: not selectable
        self.released = 0  # releases so far: a task blocked by the others may retry once this moves

    def hold(self, path: Iterable[Node], leaf: Node | None = None) -> None:
        """A task waits on the engine with ``path`` (root first) selected; ``leaf`` is being expanded."""
        for node in path:
            self.counts[node] = self.counts.get(node, 0) + 1
        if leaf is not None:
            self.expanding.add(leaf)

    def release(self, path: Iterable[Node], leaf: Node | None = None) -> None:
        for node in path:
            self.counts[node] -= 1
            if not self.counts[node]:
                del self.counts[node]
        if leaf is not None:
            self.expanding.discard(leaf)
        self.released += 1

    def pending(self, node: Node) -> int:
        return self.counts.get(node, 0)

    def visits(self, node: Node) -> int:
        """N(s) plus the selections in flight through ``node``."""
        return node.visits + self.pending(node)

    def value_sum(self, node: Node) -> float:
        """W(s) with each selection in flight counted as a visit of value ``-virtual_loss``."""
        return node.value_sum - self.virtual_loss * self.pending(node)

    def is_expanding(self, node: Node) -> bool:
        return node in self.expanding
