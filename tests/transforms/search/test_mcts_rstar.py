"""rStar-Math MCTS: UCT by hand, terminal-guided annotation along scripted rollouts, PPM initial Q."""

import math

import pytest

from tests.transforms.search.step_fakes import StepPolicy, TableScorer, by_steps, run_search
from transforms.search import get_search
from transforms.search.mcts_rstar import squash, uct
from transforms.search.tree import Tree

OK = "#### answer: 5"


def test_uct_by_hand_on_a_three_level_tree():
    # root N=10 -> a (N=4, q=2), b (N=0); a (N=4) -> a0 (N=3, q=-1), a1 (N=1, q=1).  c = 2.
    tree = Tree("p", "q", "5")
    tree.root.visits = 10
    a = tree.root.add_child("a", visits=4, value_sum=2.0)
    b = tree.root.add_child("b")
    a0 = a.add_child("a0", visits=3, value_sum=-1.0)
    a1 = a.add_child("a1", visits=1, value_sum=1.0)
    # a: 2/4 + 2 * sqrt(ln 10 / 4) = 0.5 + 2 * sqrt(2.302585 / 4) = 0.5 + 2 * 0.758714 = 2.017427
    assert uct(a, 2.0) == pytest.approx(2.017427, abs=1e-6)
    assert uct(b, 2.0) == math.inf  # unvisited first
    # a0: -1/3 + 2 * sqrt(ln 4 / 3) = -0.333333 + 2 * 0.679778 = 1.026223
    # a1: 1/1 + 2 * sqrt(ln 4 / 1) = 1 + 2 * 1.177410 = 3.354820
    assert uct(a0, 2.0) == pytest.approx(1.026223, abs=1e-6)
    assert uct(a1, 2.0) == pytest.approx(3.354820, abs=1e-6)
    tree.root.visits = 1  # ln 1 = 0: no exploration bonus
    assert uct(a, 2.0) == pytest.approx(0.5)
    # The released rule (MCTSNode.puct): an unvisited child has q = 0 and u = 0, so UCT = 0.
    assert uct(b, 2.0, "zero") == 0.0 and uct(a, 2.0, "zero") == pytest.approx(0.5)
    assert squash(0.5, "tanh") == pytest.approx(0.462117, abs=1e-6) and squash(3.0, "none") == 3.0


SCRIPT = {
    (): ["A", "B"],
    ("A",): [OK, "A1"],
    ("B",): ["B1", "#### answer: 7"],
    ("B", "B1"): [OK, "x"],
    ("A", "A1"): ["#### answer: 3", OK],
}


def test_each_rollout_runs_to_a_terminal_and_annotates_its_path():
    # c = 2, max_depth 2 (a depth-3 step that states no answer ends: too_many_steps), unvisited = +inf.
    # rollout 1: expand root -> A, B (both unvisited: inf, first wins) -> A; expand A -> OK, A1 -> OK (first)
    #            is terminal: +1 on OK, A, root.                                  root N1 q1
    # rollout 2: UCT(A) = 1/1 + 2 sqrt(ln 1 / 1) = 1; UCT(B) = inf -> B; expand B -> B1, "7" -> B1;
    #            expand B1 -> OK, "x" (depth 3 > 2, no answer: too_many_steps, a node-only update N1 q-1 as
    #            in the released eval_final_answer) -> OK: +1 on OK, B1, B, root.  root N2 q2
    # rollout 3: UCT(A) = UCT(B) = 1 + 2 sqrt(ln 2) = 2.665 -> A (first); under A, OK is evaluated
    #            (skipped) -> A1; expand A1 -> "3", OK -> "3": -1 on "3", A1, A, root.  root N3 q1
    policy = StepPolicy(SCRIPT)
    [outcome] = run_search("mcts-rstar", {"rollouts": "3", "n": "2", "c": "2", "max_depth": "2", "unvisited": "inf"},
                           policy)
    assert policy.expanded == [[()], [("A",)], [("B",)], [("B", "B1")], [("A", "A1")]]
    stats = {steps: (n.visits, n.value_sum) for steps, n in by_steps(outcome.tree).items()}
    assert stats == {
        (): (3, 1.0), ("A",): (2, 0.0), ("A", OK): (1, 1.0), ("A", "A1"): (1, -1.0),
        ("A", "A1", "#### answer: 3"): (1, -1.0), ("A", "A1", OK): (0, 0.0),
        ("B",): (1, 1.0), ("B", "B1"): (1, 1.0), ("B", "B1", OK): (1, 1.0), ("B", "B1", "x"): (1, -1.0),
        ("B", "#### answer: 7"): (0, 0.0),
    }
    x = by_steps(outcome.tree)[("B", "B1", "x")]
    assert x.is_terminal and (x.verdict.equal, x.verdict.method) == (None, "too_many_steps")  # never verified
    # Q(s) = q(s) / N(s) is what the rows carry.
    rows = {r["path"]: r for r in outcome.tree.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h")}
    assert rows["0"]["q_value"] == 0.0 and rows["1"]["q_value"] == 1.0


def test_parallel_rollouts_share_engine_calls_with_virtual_loss():
    # The script above with parallel=2 (virtual loss 1), lock-step scheduler. Worked by hand:
    # call 1: R1 expands the root; R2 finds the root being expanded (blocked) and waits.
    # call 2: R1 -> A (both inf, first) and expands A; R3 skips A (being expanded) -> B, expands B.
    # R1: A -> OK: +1 on OK, A, root. R4 starts: A is the only open child; under A, OK is evaluated -> A1.
    # R3: B -> B1 (both unvisited, first).  call 3: A1 (R4) and B1 (R3) in one call.
    # R4: A1 -> "3" (first): -1 on "3", A1, A, root. R3: B1 -> OK ("x" is too_many_steps, node-only -1):
    # +1 on OK, B1, B, root. Three annotations, three engine calls instead of five; on this script the
    # statistics equal the sequential search's.
    policy = StepPolicy(SCRIPT)
    [outcome] = run_search("mcts-rstar", {"rollouts": "3", "n": "2", "c": "2", "max_depth": "2", "unvisited": "inf",
                                          "parallel": "2"}, policy)
    assert policy.expanded == [[()], [("A",), ("B",)], [("A", "A1"), ("B", "B1")]]
    stats = {steps: (n.visits, n.value_sum) for steps, n in by_steps(outcome.tree).items()}
    assert stats[()] == (3, 1.0) and stats[("A",)] == (2, 0.0) and stats[("B",)] == (1, 1.0)
    assert stats[("A", "A1", "#### answer: 3")] == (1, -1.0) and stats[("B", "B1", OK)] == (1, 1.0)


def test_uct_counts_each_rollout_in_flight_as_a_lost_visit():
    # root N=3 (one rollout in flight through it: 4); a: N=2, q=2, one in flight: N=3, q=2-1=1.
    # UCT(a) = 1/3 + 2 * sqrt(ln 4 / 3) = 0.333333 + 2 * 0.679778 = 1.692890
    # b: unvisited, one in flight: N=1, q=-1: -1 + 2 * sqrt(ln 4 / 1) = -1 + 2.354820 = 1.354820
    from transforms.search.inflight import VirtualLoss

    tree = Tree("p", "q", "5")
    tree.root.visits = 3
    a = tree.root.add_child("a", visits=2, value_sum=2.0)
    b = tree.root.add_child("b")
    virtual = VirtualLoss(1.0)
    virtual.hold([tree.root, a])
    assert uct(a, 2.0, "zero", virtual) == pytest.approx(1.692890, abs=1e-6)
    assert uct(a, 2.0, "zero") == pytest.approx(1.0 + 2 * math.sqrt(math.log(3) / 2))  # nothing in flight
    virtual.release([tree.root, a])
    virtual.hold([tree.root, b])
    assert uct(b, 2.0, "zero", virtual) == pytest.approx(1.354820, abs=1e-6)
    assert uct(b, 2.0, "zero", VirtualLoss(1.0)) == 0.0


def test_ppm_initialises_q_from_the_scorer_with_tanh():
    # PPM scores A 0.1, B 2.0 -> q0 = tanh: 0.099668, 0.964028, each counted as one visit of that node only.
    # With the root unvisited (ln clamped to 0), UCT = q0: B wins. B -> OK (terminal: not scored) -> +1.
    policy = StepPolicy({(): ["A", "B"], ("B",): [OK]})
    scorer = TableScorer({("A",): 0.1, ("B",): 2.0})
    [outcome] = run_search("mcts-rstar", {"rollouts": "1", "n": "2", "ppm": "true"}, policy, scorer=scorer)
    assert scorer.calls == [[("A",), ("B",)]]  # terminal children are never scored
    nodes = by_steps(outcome.tree)
    assert nodes[("A",)].visits == 1 and nodes[("A",)].value_sum == pytest.approx(0.099668, abs=1e-6)
    assert nodes[("A",)].value_estimate == 0.1
    assert nodes[("B",)].visits == 2 and nodes[("B",)].value_sum == pytest.approx(math.tanh(2.0) + 1)
    assert nodes[()].visits == 1 and nodes[()].value_sum == 1.0
    with pytest.raises(AssertionError, match="needs a scorer"):
        run_search("mcts-rstar", {"ppm": "true"}, StepPolicy({}))


def test_token_budget_and_lock_step_batching():
    policy = StepPolicy(SCRIPT)
    run_search("mcts-rstar", {"rollouts": "3", "n": "2", "max_depth": "3"}, policy, [Tree(f"p{i}", "q", "5") for i in range(4)])
    assert [len(call) for call in policy.calls] == [4] * 5
    # Each expansion here writes 2 one-token steps: a 3-token budget allows two expansions.
    policy = StepPolicy(SCRIPT)
    run_search("mcts-rstar", {"rollouts": "3", "n": "2", "max_depth": "3"}, policy, max_tokens_per_problem=3)
    assert len(policy.calls) == 2


def test_presets():
    algorithm = get_search("mcts-rstar")
    round1 = algorithm.make_config({"preset": "rstar-round1"})
    assert (round1.c, round1.rollouts, round1.n, round1.unvisited, round1.ppm) == (2.0, 16, 5, "zero", False)
    ppm = algorithm.make_config({"preset": "rstar-ppm"})
    assert algorithm.requires_scorer(ppm) and ppm.temperature == 1.0  # released sft_sample_mcts.yaml
    assert (round1.code_errors_allowed, ppm.code_errors_allowed) == (1, 0)  # errors_threshold 2 and 1, with >=
    with pytest.raises(ValueError, match="unvisited"):
        algorithm.make_config({"unvisited": "nan"})
    with pytest.raises(ValueError, match="ppm_squash"):
        algorithm.make_config({"ppm_squash": "relu"})


def _wide_script(width: int = 5, depth: int = 3) -> dict:
    """Every partial solution shorter than ``depth`` has ``width`` distinct next steps (named by path);
    deeper ones get the fake policy's default, the wrong answer '#### answer: 0'."""
    script, frontier = {}, [()]
    for _ in range(depth):
        nxt = []
        for steps in frontier:
            script[steps] = ["s" + "".join(map(str, _path(steps))) + str(i) for i in range(width)]
            nxt += [steps + (child,) for child in script[steps]]
        frontier = nxt
    return script


def _path(steps) -> list[int]:
    return [int(step[-1]) for step in steps]


def test_round1_preset_revisits_nodes_below_the_root():
    # Issue 9, item 7. Every answer is wrong (-1); 5 distinct candidates per step; c = 2; released unvisited
    # rule (UCT 0). Root children A..E = s0..s4, A's children s00..s04, answers at depth 4.
    # r1: all UCT 0 -> s0 -> s00 -> s000 -> wrong: -1 on the path.           root N1
    # r2: UCT(s0) = -1 + 2 sqrt(ln 1 / 1) = -1 < 0 = UCT(s1) -> s1 -> s10 -> s100: -1.   root N2
    # r3: UCT(s0) = UCT(s1) = -1 + 2 sqrt(ln 2) = 0.665 > 0 -> s0 (first); under s0 (N1): UCT(s00) = -1 + 0 < 0
    #     -> s01 -> s010: -1.                                                  root N3, s0 N2
    # r4: UCT(s0) = -1 + 2 sqrt(ln 3 / 2) = 0.482; UCT(s1) = -1 + 2 sqrt(ln 3) = 1.096 -> s1 -> s11: -1.  root N4
    # r5: UCT(s0) = UCT(s1) = -1 + 2 sqrt(ln 4 / 2) = 0.665 -> s0; under s0 (N2): UCT(s00) = UCT(s01) =
    #     -1 + 2 sqrt(ln 2) = 0.665 > 0 -> s00 (first), a depth-2 node visited the second time.
    algorithm = get_search("mcts-rstar")
    [five] = run_search("mcts-rstar", {"preset": "rstar-round1", "rollouts": "5"}, StepPolicy(_wide_script()))
    nodes = by_steps(five.tree)
    assert nodes[()].visits == 5 and nodes[("s0",)].visits == 3 and nodes[("s1",)].visits == 2
    assert nodes[("s0", "s00")].visits == 2 and nodes[("s0", "s00")].value_sum == -2.0
    assert nodes[("s0", "s01")].visits == 1 and nodes[("s1", "s11")].visits == 1
    # The whole preset (16 rollouts): depth-2 nodes are revisited, so their Q averages several rollouts.
    [full] = run_search("mcts-rstar", {"preset": "rstar-round1"}, StepPolicy(_wide_script()))
    assert max(n.visits for n in full.tree.nodes() if n.depth == 2) >= 2
    # The textbook rule (unvisited = +inf) with the same budget tries every child once first: below the root
    # no node is ever visited twice, every Q there is a single +-1 sample (what the old preset gave).
    [inf] = run_search("mcts-rstar", {"preset": "rstar-round1", "unvisited": "inf"}, StepPolicy(_wide_script()))
    assert max(n.visits for n in inf.tree.nodes() if n.depth == 2) == 1
    assert algorithm.make_config({"preset": "rstar-round1"}).rollouts == 16


def test_failed_and_unfinished_steps_get_a_node_only_update_and_cost_no_rollout():
    # Issue 9, item 5 (released eval_final_answer: node.update(negative_reward), not update_recursive).
    # rollouts = 1. Walk 1: root -> A, B; A (first, +inf) -> A1, A2, both cut by the token limit without an
    # answer: each gets N1 q-1 at once, nothing on A or the root; A has no open child: a dead end, which is
    # not a rollout. Walk 2: A is finished -> B -> OK: +1 on OK, B, root. That is the one rollout.
    policy = StepPolicy({(): ["A", "B"], ("A",): [("A1", -0.5, "length"), ("A2", -0.5, "length")], ("B",): [OK]})
    [outcome] = run_search("mcts-rstar", {"rollouts": "1", "n": "2", "unvisited": "inf"}, policy)
    assert policy.expanded == [[()], [("A",)], [("B",)]]
    stats = {steps: (n.visits, n.value_sum) for steps, n in by_steps(outcome.tree).items()}
    assert stats == {(): (1, 1.0), ("A",): (0, 0.0), ("A", "A1"): (1, -1.0), ("A", "A2"): (1, -1.0),
                     ("B",): (1, 1.0), ("B", OK): (1, 1.0)}
    a1 = by_steps(outcome.tree)[("A", "A1")]
    assert (a1.verdict.equal, a1.verdict.method) == (None, "length")
    # A policy that only writes failing steps ends the search instead of looping.
    policy = StepPolicy({(): [("x", -0.5, "length")]})
    [outcome] = run_search("mcts-rstar", {"rollouts": "4", "n": "1"}, policy)
    assert len(policy.calls) == 1 and outcome.tree.root.visits == 0
