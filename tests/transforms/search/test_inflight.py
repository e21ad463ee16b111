"""The in-flight task driver: parallel=1 is the sequential search; results go back in submission order."""

from __future__ import annotations

from transforms.search.base import Await, Generate, Score, Submit
from transforms.search.inflight import VirtualLoss, interleave
from transforms.search.tree import Tree


def task(name: str, log: list):
    """A task that asks for a generation, then a score, then another generation."""
    first = yield Generate((name + "-1",))
    score = yield Score((name,))
    second = yield Generate((name + "-2",))
    log.append((name, first, score, second))


def drive(parallel: int, names: list[str]):
    """Run ``interleave`` by hand: answer each call, record what the tree yields."""
    log, calls, pending = [], [], list(names)
    results: dict[int, list] = {}

    def next_task():
        return task(pending.pop(0), log) if pending else None

    driver = interleave(next_task, parallel)
    value, handles = None, 0
    while True:
        try:
            call = driver.send(value)
        except StopIteration:
            return calls, log
        calls.append(call)
        if isinstance(call, Submit):
            value, handles = handles, handles + 1
            results[value] = [f"gen:{call.generate.requests[0]}"]
        elif isinstance(call, Await):
            value = results.pop(call.handle)
        else:
            value = [f"score:{call.requests[0]}"]


def test_parallel_one_makes_the_sequential_calls():
    calls, log = drive(1, ["a", "b"])
    kinds = [(type(c).__name__, getattr(c, "handle", None)) for c in calls]
    assert kinds == [("Submit", None), ("Await", 0), ("Score", None), ("Submit", None), ("Await", 1),
                     ("Submit", None), ("Await", 2), ("Score", None), ("Submit", None), ("Await", 3)]
    assert log == [("a", ["gen:a-1"], ["score:a"], ["gen:a-2"]), ("b", ["gen:b-1"], ["score:b"], ["gen:b-2"])]


def test_results_are_applied_in_submission_order():
    calls, log = drive(2, ["a", "b", "c"])
    submitted = [c.generate.requests[0] for c in calls if isinstance(c, Submit)]
    awaited = [c.handle for c in calls if isinstance(c, Await)]
    assert submitted == ["a-1", "b-1", "a-2", "b-2", "c-1", "c-2"]
    assert awaited == sorted(awaited)  # oldest first, never in the engine's finishing order
    assert [entry[0] for entry in log] == ["a", "b", "c"]
    assert all(entry[1] == [f"gen:{entry[0]}-1"] and entry[3] == [f"gen:{entry[0]}-2"] for entry in log)


def test_virtual_loss_counts_come_and_go():
    tree = Tree("p", "q", "5")
    a = tree.root.add_child("a", visits=2, value_sum=1.0)
    virtual = VirtualLoss(1.0)
    virtual.hold([tree.root, a], leaf=a)
    virtual.hold([tree.root])
    assert (virtual.visits(tree.root), virtual.visits(a), virtual.value_sum(a)) == (2, 3, 0.0)
    assert virtual.is_expanding(a) and virtual.released == 0
    virtual.release([tree.root, a], leaf=a)
    virtual.release([tree.root])
    assert virtual.counts == {} and not virtual.expanding and virtual.released == 2
    assert (a.visits, a.value_sum) == (2, 1.0)  # stored statistics never carry virtual visits
