"""The continuous scheduler grows the same trees as the lock-step one, whatever the engine's finishing
order and whatever else runs beside a tree; several selections in flight per tree (``parallel``, virtual
loss: mcts-alphamath, mcts-rstar, rest-mcts) keep that."""

from __future__ import annotations

import math
import random
import zlib

import pytest

from tests.fakes import ExactVerifier, ScriptedPolicy
from transforms.protocols import GenerationRequest, SamplingSpec, StreamingPolicy
from transforms.search import get_search
from transforms.search.base import Await, Generate, SearchEnv, Submit
from transforms.search.continuous import BatchedStream, ContinuousScheduler, as_stream, make_scheduler
from transforms.search.inflight import VirtualLoss
from transforms.search.mcts_alphamath import puct
from transforms.search.scheduler import Scheduler
from transforms.search.tree import Node, Tree

STEPS = ("Add the two numbers.", "Multiply first.", "Check the units.", "answer: 5", "answer: 3", "Write it out.")


def respond(prompt: str, index: int, seed: int | None) -> str:
    """A seeded choice of step: the same prompt, sample index and seed give the same step."""
    if "Reply with one word" in prompt:  # ReST-MCTS*'s self-critic
        return "unsolved"
    rng = random.Random(zlib.crc32(f"{prompt}|{index}|{seed}".encode()))
    return rng.choice(STEPS)


def request(prompt: str, seed: int) -> GenerationRequest:
    return GenerationRequest(prompt, SamplingSpec(seed=seed))


class ShuffledStream(ScriptedPolicy):
    """A streaming fake that finishes a random (seeded) non-empty share of the queued requests per poll,
    in shuffled order: the engine's finishing order must not matter."""

    def __init__(self, order_seed: int):
        super().__init__(respond, finish_reason="stop")
        self.rng = random.Random(order_seed)
        self.queue: list = []
        self.tickets = 0
        self.polls = 0

    def submit(self, requests):
        tickets = list(range(self.tickets, self.tickets + len(requests)))
        self.tickets += len(requests)
        self.queue += zip(tickets, requests)
        return tickets

    def poll(self):
        if not self.queue:
            return []
        self.polls += 1
        self.rng.shuffle(self.queue)
        cut = self.rng.randint(1, len(self.queue))
        done, self.queue = self.queue[:cut], self.queue[cut:]
        return list(zip([t for t, _ in done], self.generate([r for _, r in done])))


SEARCHES = {
    "mcts-alphamath": {"iterations": "6", "n": "3", "max_depth": "4"},
    "mcts-alphamath-parallel": {"iterations": "6", "n": "3", "max_depth": "4", "parallel": "3"},
    "mcts-rstar": {"rollouts": "4", "n": "3", "max_depth": "4"},
    "mcts-rstar-parallel": {"rollouts": "6", "n": "3", "max_depth": "4", "parallel": "3"},
    "sbs": {"beam_width": "2", "n": "3", "max_depth": "4"},
    "rest-mcts": {"iterations": "5", "branch": "3", "roll_steps": "2"},
    "rest-mcts-parallel": {"iterations": "6", "branch": "3", "roll_steps": "2", "parallel": "3"},
    "best-of-n": {"n": "4"},
}


def grow(name: str, scheduler_of, problems: list[int]):
    algorithm = get_search(name.replace("-parallel", ""))
    trees = [Tree(f"p{i}", f"What is {i} + {i % 3}?", "5") for i in problems]
    policy = ScriptedPolicy(respond, finish_reason="stop")
    scheduler = scheduler_of(policy)
    outcomes = scheduler.run(trees, algorithm.search, algorithm.make_config(SEARCHES[name]), lambda: SearchEnv(
        chat_prompt=lambda q: policy.chat_prompt(q, "sys"), verifier=ExactVerifier(), seed=7))
    assert not [o.error for o in outcomes if o.error]
    return {t.problem_id: [(n.path, n.step_text, n.visits, n.value_sum, n.q, n.is_terminal) for n in t.nodes()]
            for t in trees}, scheduler


@pytest.mark.parametrize("name", list(SEARCHES))
def test_continuous_trees_equal_lockstep_trees_in_any_finishing_order(name):
    reference, _ = grow(name, Scheduler, list(range(6)))
    assert all(len(nodes) > 2 for nodes in reference.values())
    for order_seed in (1, 2):
        shuffled, scheduler = grow(name, lambda p: ContinuousScheduler(ShuffledStream(order_seed)), list(range(6)))
        assert shuffled == reference
    batched, _ = grow(name, ContinuousScheduler, list(range(6)))  # a generate-only Policy: BatchedStream
    assert batched == reference
    alone = {}
    for i in range(6):
        alone.update(grow(name, lambda p: ContinuousScheduler(ShuffledStream(i)), [i])[0])
    assert alone == reference


@pytest.mark.parametrize("name", ["mcts-rstar-parallel", "sbs", "rest-mcts"])
@pytest.mark.parametrize("window", [1, 2, 4])
def test_trees_streamed_through_a_window_equal_trees_grown_all_at_once(name, window):
    reference, _ = grow(name, Scheduler, list(range(7)))
    algorithm = get_search(name.replace("-parallel", ""))
    stream = ShuffledStream(window)
    scheduler = ContinuousScheduler(stream)
    trees = [Tree(f"p{i}", f"What is {i} + {i % 3}?", "5") for i in range(7)]
    handed_back, most_open = [], 0
    with scheduler.open(algorithm.search, algorithm.make_config(SEARCHES[name]), lambda: SearchEnv(
            chat_prompt=lambda q: stream.chat_prompt(q, "sys"), verifier=ExactVerifier(), seed=7)) as search:
        for tree in trees:
            handed_back += search.admit(tree, window)
            most_open = max(most_open, search.open_trees)
        handed_back += search.drain()
    assert most_open == window  # never more than the window, and the window is used
    assert sorted(o.tree.problem_id for o in handed_back) == sorted(reference)  # each tree once, none lost
    assert {o.tree.problem_id: [(n.path, n.step_text, n.visits, n.value_sum, n.q, n.is_terminal) for n in o.tree.nodes()]
            for o in handed_back} == reference
    assert not stream.queue and not search.tickets


def test_a_tree_that_needs_no_call_is_handed_back_by_the_next_admit():
    def answer_at_once(tree, config, env):
        tree.root.add_child("answer: 1")
        return
        yield  # a generator that makes no call

    stream = ShuffledStream(0)
    with ContinuousScheduler(stream).open(answer_at_once, None, lambda: SearchEnv(chat_prompt=str, verifier=ExactVerifier())) as search:
        assert [o.tree.problem_id for o in search.admit(Tree("a", "q", "1"), 1)] == ["a"]
        assert search.open_trees == 0 and search.drain() == []
    with pytest.raises(ValueError, match="window"):
        search.admit(Tree("b", "q", "1"), 0)


def test_a_tree_moves_on_without_waiting_for_the_others():
    # Under a stream that finishes one request per poll, the continuous scheduler needs no more polls
    # than there are requests, and the trees interleave: the lock-step one would need a round per step.
    class OneAtATime(ShuffledStream):
        def poll(self):
            if not self.queue:
                return []
            self.polls += 1
            done, self.queue = self.queue[:1], self.queue[1:]
            return list(zip([t for t, _ in done], self.generate([r for _, r in done])))

    stream = OneAtATime(0)
    _, scheduler = grow("mcts-alphamath", lambda p: ContinuousScheduler(stream), list(range(4)))
    assert scheduler.stats.requests == stream.polls == len(stream.calls)
    first_tree_calls = [i for i, call in enumerate(stream.calls) if "What is 0 + 0?" in call[0].prompt]
    assert first_tree_calls[-1] - first_tree_calls[0] > len(first_tree_calls)  # others ran in between


def test_parallel_selections_change_the_tree_but_not_its_visit_count():
    sequential, _ = grow("mcts-alphamath", Scheduler, [0, 1])
    parallel, _ = grow("mcts-alphamath-parallel", Scheduler, [0, 1])
    assert parallel != sequential  # selections made without the results in flight (documented departure)
    for nodes in parallel.values():
        root_visits = nodes[0][2]
        assert root_visits >= 6  # one backup per expansion plus the terminal children's, as sequentially


def test_puct_counts_each_selection_in_flight_as_a_lost_visit():
    # Hand-worked: child N=2, W=1 (Q=0.5), prior 0.5; parent N=4; one selection in flight through both,
    # virtual loss 1: N(s,a) = 3, Q = (0.5*2 - 1)/3 = 0, N(s) = 5;
    # PUCT = 0 + 1.25 * 0.5 * sqrt(5) / (1 + 3) = 0.3493856...
    parent = Node(path=())
    parent.visits = 4
    child = parent.add_child("step", "text")
    child.visits, child.value_sum, child.prior = 2, 1.0, 0.5
    virtual = VirtualLoss(1.0)
    virtual.hold([parent, child])
    assert puct(child, 1.25, virtual) == pytest.approx(1.25 * 0.5 * math.sqrt(5) / 4)
    assert puct(child, 1.25, virtual) == pytest.approx(0.34938562)
    # Nothing in flight: the plain formula, 0.5 + 1.25 * 0.5 * 2 / 3.
    virtual.release([parent, child])
    assert puct(child, 1.25) == puct(child, 1.25, virtual) == pytest.approx(0.5 + 1.25 * 0.5 * 2 / 3)


def test_awaits_are_answered_in_the_order_the_search_asks():
    # A search that submits two generations and awaits the second first gets each its own results.
    def search(tree, config, env):
        prompt = env.prompt(tree, tree.root)
        first = yield Submit(Generate((request(prompt, 1),)))
        second = yield Submit(Generate((request(prompt, 2),)))
        late = yield Await(second)
        early = yield Await(first)
        tree.root.add_child(early[0].samples[0].text + "|" + late[0].samples[0].text, "text")

    for scheduler in (Scheduler(ScriptedPolicy(respond)), ContinuousScheduler(ShuffledStream(3))):
        tree = Tree("p", "q", "5")
        [outcome] = scheduler.run([tree], search, None, lambda: SearchEnv(
            chat_prompt=lambda q: "<q>" + q, verifier=ExactVerifier()))
        assert outcome.error is None
        prompt = "<q>q"
        assert tree.root.children[0].step_text == respond(prompt, 0, 1) + "|" + respond(prompt, 0, 2)


def test_a_failing_tree_leaves_nothing_in_the_engine_and_the_others_go_on():
    def search(tree, config, env):
        handle = yield Submit(Generate((request("x", 1),)))
        if tree.problem_id == "bad":
            raise ValueError("broken search")
        yield Await(handle)
        tree.root.add_child("done", "text")

    stream = ShuffledStream(5)
    outcomes = ContinuousScheduler(stream).run([Tree("bad", "q", "1"), Tree("good", "q", "1")], search, None,
                                               lambda: SearchEnv(chat_prompt=str, verifier=ExactVerifier()))
    assert [o.error for o in outcomes] == ["ValueError: broken search", None]
    assert outcomes[1].tree.root.children and stream.queue == []


def test_make_scheduler_and_stream_adapters():
    policy = ScriptedPolicy(respond)
    assert isinstance(make_scheduler("lockstep", policy), Scheduler)
    assert isinstance(make_scheduler("continuous", policy), ContinuousScheduler)
    with pytest.raises(ValueError, match="unknown scheduler"):
        make_scheduler("rounds", policy)
    assert isinstance(as_stream(policy), BatchedStream) and not isinstance(policy, StreamingPolicy)
    stream = ShuffledStream(0)
    assert isinstance(stream, StreamingPolicy) and as_stream(stream) is stream


class DigitStepEnv(SearchEnv):
    def step_stop(self) -> tuple[str, ...]:
        return ("3",)


@pytest.mark.parametrize("name, params", [
    ("mcts-alphamath", {"iterations": "4", "n": "2", "max_tokens": "12", "max_depth": "3", "temperature": "1.0",
                        "parallel": "2"}),
    ("mcts-rstar", {"rollouts": "3", "n": "2", "max_tokens": "12", "max_depth": "3", "temperature": "1.0",
                    "parallel": "2"}),
])
def test_on_the_engine_a_tree_is_the_same_with_batch_sizes_1_and_32(tiny_policy, name, params):
    # The real engine (vLLM CPU, the tiny model) through its step loop (submit/poll): 32 trees at once,
    # each tree alone, and the lock-step scheduler's 32 grow the same trees. The tiny model never writes
    # a blank line, so a step here ends at the digit 3 (frequent in its output): the trees grow deeper.
    algorithm = get_search(name)
    config = algorithm.make_config(params)
    questions = [f"A shop sells {i} apples and {i + 3} pears. How many fruits?" for i in range(32)]

    def grow(kind: str, indexes: list[int]):
        trees = [Tree(f"p{i}", questions[i], str(2 * i + 3)) for i in indexes]
        scheduler = make_scheduler(kind, tiny_policy)
        outcomes = scheduler.run(trees, algorithm.search, config, lambda: DigitStepEnv(
            chat_prompt=lambda q: tiny_policy.chat_prompt(q, "Solve."), verifier=ExactVerifier(), seed=5))
        assert not [o.error for o in outcomes if o.error]
        shapes = {t.problem_id: [(n.path, n.step_text, n.finish_reason, n.visits, n.value_sum) for n in t.nodes()]
                  for t in trees}
        return shapes, scheduler.stats

    together, stats = grow("continuous", list(range(32)))
    assert max(stats.batch_sizes) >= 32  # many trees' requests in flight at once
    assert max(path_len for nodes in together.values() for path_len in (len(n[0]) for n in nodes)) >= 2
    alone = {}
    for i in range(0, 32, 4):  # every fourth problem alone: batch size 1 (keeps the test short)
        alone.update(grow("continuous", [i])[0])
    assert alone == {k: together[k] for k in alone}
    assert grow("lockstep", list(range(32)))[0] == together
