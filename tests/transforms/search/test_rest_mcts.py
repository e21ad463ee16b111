"""ReST-MCTS*: UCB, roll-out mixing, value back-propagation and quality values by hand; scripted runs."""

import math

import pytest

from tests.transforms.search.step_fakes import StepPolicy, TableScorer, by_steps, run_search
from transforms.protocols import Verdict
from transforms.search import get_search
from transforms.search.rest_mcts import (
    backpropagate, mix_rollout, quality_value, quality_values, reasoning_distances, ucb, value, weighted_reward,
)
from transforms.search.tree import Tree

OK, WRONG = "#### answer: 5", "#### answer: 4"


def test_ucb_mixing_and_backpropagation_by_hand():
    # root N=4 -> a (N=2, V=.5), b (N=0, V_theta=.3); a -> a0 (N=1, V=.8), a1 (N=1, V=.2).  c = .7, bonus 1.
    tree = Tree("p", "q", "5")
    tree.root.visits, tree.root.value_sum = 4, 2.0
    a = tree.root.add_child("a", visits=2, value_sum=1.0)
    b = tree.root.add_child("b", value_estimate=0.3)
    a0 = a.add_child("a0", visits=1, value_sum=0.8)
    a.add_child("a1", visits=1, value_sum=0.2)
    # a: .5 + .7 * sqrt(2 ln 4 / 2) = .5 + .7 * 1.177410 = 1.324187;  b (unvisited): .3 + 1 = 1.3
    assert ucb(a, 0.7, 1.0) == pytest.approx(1.324187, abs=1e-6)
    assert ucb(b, 0.7, 1.0) == pytest.approx(1.3)
    # roll-out mixing: (1 - .5) * .8 + .5 * .95 = .875
    assert mix_rollout(0.8, 0.95, 0.5) == pytest.approx(0.875)
    # back-propagate from a0: a0 N2 (leaf, V stays .8); a: N3, V = (2 * .8 + 1 * .2) / 3 = .6;
    # root: N5, V = (3 * .6 + 0 * .3) / 3 = .6 (b unvisited weighs 0)
    backpropagate(a0)
    assert (a0.visits, value(a0)) == (2, pytest.approx(0.8))
    assert (a.visits, value(a)) == (3, pytest.approx(0.6))
    assert (tree.root.visits, value(tree.root)) == (5, pytest.approx(0.6))


def _route_tree() -> Tree:
    """root -> a -> b -> c (correct answer); a -> x (wrong answer); root -> y -> z (wrong, no correct below)."""
    tree = Tree("p", "q", "5")
    a = tree.root.add_child("a")
    b = a.add_child("b")
    b.add_child("c", is_terminal=True, verdict=Verdict(True, "string", "5"))
    a.add_child("x", is_terminal=True, verdict=Verdict(False, "string", "4"))
    tree.root.add_child("y").add_child("z", is_terminal=True, verdict=Verdict(False, "string", "6"))
    return tree


def test_quality_values_with_reasoning_distance_by_hand():
    # w_k = (1 - v_{k-1}) / (m_k + 1) * (1 - 2 r_k);  v_k = max(v_{k-1} + w_k, 0);  v_0 = 0
    # distances to the correct answer: c 0, b 1, a 2, root 3.
    tree = _route_tree()
    assert reasoning_distances(tree) == {(0, 0, 0): 0, (0, 0): 1, (0,): 2, (): 3}
    values = quality_values(tree)
    # on the route (r = 0): a = 0 + 1/3 = 1/3;  b = 1/3 + (2/3)/2 = 2/3;  c = 2/3 + (1/3)/1 = 1
    assert values[(0,)] == pytest.approx(1 / 3) and values[(0, 0)] == pytest.approx(2 / 3)
    assert values[(0, 0, 0)] == pytest.approx(1.0)
    # x is off the route (r = 1) under a, so m = m(a) = 2: 1/3 - (2/3)/3 = 1/9
    assert values[(0, 1)] == pytest.approx(1 / 9)
    # y, z: root is on a route, y is not and root's distance is 3: max(0 - 1/4, 0) = 0, then z = 0
    assert values[(1,)] == 0.0 and values[(1, 0)] == 0.0
    assert weighted_reward(0.5, 1, wrong=True) == pytest.approx(-0.25) and quality_value(0.1, 0, False) == 1.0
    # no correct answer anywhere: no quality values at all
    lonely = Tree("p", "q", "5")
    lonely.root.add_child("x", is_terminal=True, verdict=Verdict(False, "string", "4"))
    assert quality_values(lonely) == {(): None, (0,): None}


SCRIPT = {
    (): ["A", "B"],
    ("B",): ["B1", "B2"],
    ("B", "B1"): [OK],
    ("A",): ["A1", WRONG],
    ("A", "A1"): [OK],
}
VALUES = {("A",): 0.3, ("B",): 0.5, ("B", "B1"): 0.6, ("B", "B1", OK): 0.95, ("A", "A1"): 0.2, ("A", WRONG): 0.1,
          ("A", "A1", OK): 0.4, ("B", "B2"): 0.92}


def test_scripted_run_with_a_value_model_stops_at_the_gate():
    # c = .7, bonus 1, alpha .5, gate .9, branch 2, roll-outs of up to 2 steps x 1 candidate.
    # it 1: root is a leaf. Expand -> A (.3), B (.5). Roll node = best UCB among unvisited: B (1.5 > 1.3).
    #       Roll-out from B: B1 (.6), then OK (.95, terminal, stop): v_max = .95.
    #       V(B) = .5 * .5 + .5 * .95 = .725, N(B) = 1.  Back-prop root: N1, V = .725.
    # it 2: UCB(A) = .3 + 1 = 1.3; UCB(B) = .725 + .7 sqrt(2 ln 1 / 1) = .725 -> A. Expand A -> A1 (.2), WRONG (.1).
    #       Roll node A1 (1.2 > 1.1); roll-out: OK (.4): V(A1) = .5 * .2 + .5 * .4 = .3.
    #       Back-prop: A N1 V .3; root N2 V = (.3 + .725) / 2 = .5125.
    # it 3: UCB(A) = .3 + .7 sqrt(2 ln 2) = .3 + .824187 = 1.124187; UCB(B) = .725 + .824187 = 1.549187 -> B.
    #       B has no children (roll-outs are not stored): expand -> B1 (.6), B2 (.92 >= gate, closed).
    #       Roll node B1; roll-out OK (.95): V(B1) = .775. Back-prop: B N2 V .775; root N3 V = (.3 + 2 * .775) / 3.
    #       B2 reached the gate: stop.
    policy, scorer = StepPolicy(SCRIPT), TableScorer(VALUES)
    [outcome] = run_search("rest-mcts", {"iterations": "10", "branch": "2", "roll_steps": "2"}, policy, scorer=scorer)
    assert policy.expanded == [[()], [("B",)], [("B", "B1")], [("A",)], [("A", "A1")], [("B",)], [("B", "B1")]]
    assert [r.sampling.n for call in policy.calls for r in call] == [2, 1, 1, 2, 1, 2, 1]
    assert scorer.calls == [[("A",), ("B",)], [("B", "B1")], [("B", "B1", OK)], [("A", "A1"), ("A", WRONG)],
                            [("A", "A1", OK)], [("B", "B1"), ("B", "B2")], [("B", "B1", OK)]]
    nodes = by_steps(outcome.tree)
    assert set(nodes) == {(), ("A",), ("B",), ("A", "A1"), ("A", WRONG), ("B", "B1"), ("B", "B2")}
    values = {steps: (n.visits, round(value(n), 6)) for steps, n in nodes.items()}
    assert values == {(): (3, round((0.3 + 2 * 0.775) / 3, 6)), ("A",): (1, 0.3), ("B",): (2, 0.775),
                      ("A", "A1"): (1, 0.3), ("A", WRONG): (0, 0.1), ("B", "B1"): (1, 0.775), ("B", "B2"): (0, 0.92)}
    # The stored q_value is V (W/N), and V_theta stays in value_estimate.
    assert nodes[("B",)].q == pytest.approx(0.775) and nodes[("B",)].value_estimate == 0.5


def test_without_a_scorer_verified_answers_drive_the_search():
    # A verified correct step has value 1 and ends the search at once; in 'full' mode it is closed instead.
    policy = StepPolicy({(): ["A", OK], ("A",): [WRONG, "A1"]})
    [outcome] = run_search("rest-mcts", {"iterations": "5", "branch": "2", "roll_steps": "1"}, policy)
    assert policy.expanded == [[()], [("A",)]]  # expansion, then the roll-out from A (OK is closed)
    nodes = by_steps(outcome.tree)
    assert nodes[(OK,)].value_estimate == 1.0 and nodes[("A",)].value_estimate == 0.0
    # The roll-out from A met WRONG (value by quality: off the route at the root, m = 1 -> max(0 - 1/2, 0) = 0).
    assert value(nodes[("A",)]) == 0.0 and nodes[("A",)].visits == 1

    policy = StepPolicy({(): ["A", OK], ("A",): [WRONG, "A1"]})
    [outcome] = run_search("rest-mcts", {"iterations": "3", "branch": "2", "roll_steps": "1", "stop_at_gate": "false"},
                           policy)
    # it 1 as above (OK closed, roll-out from A). it 2: A (the only open child) -> WRONG, A1, both valued 0
    # (off the route, fork distance 1: max(0 - 1/2, 0)); the roll node is WRONG (first of equal UCB), a
    # terminal: no roll-out, it is just visited. it 3: A -> A1 (WRONG is done) -> expanded: its samples
    # (the default wrong answer twice, deduplicated) end at once.
    assert policy.expanded == [[()], [("A",)], [("A",)], [("A", "A1")]]
    nodes = by_steps(outcome.tree)
    assert nodes[("A", WRONG)].visits == 1 and nodes[("A", "A1", "#### answer: 0")].is_terminal
    assert len(nodes[("A", "A1")].children) == 1


def test_ucb_counts_each_iteration_in_flight_as_a_visit_of_value_zero():
    # root N=4, one iteration in flight through it: N=5; virtual loss 0 (a visit of value 0, the lowest V).
    # a: N=2, V=.5, one in flight: N=3, V = 1/3: 1/3 + .7 sqrt(2 ln 5 / 3) = .333333 + .725086 = 1.058419
    # b: unvisited (V_theta .3), one in flight: N=1, V=0: .7 sqrt(2 ln 5) = 1.255886 (no unvisited bonus)
    from transforms.search.inflight import VirtualLoss

    tree = Tree("p", "q", "5")
    tree.root.visits = 4
    a = tree.root.add_child("a", visits=2, value_sum=1.0)
    b = tree.root.add_child("b", value_estimate=0.3)
    virtual = VirtualLoss(0.0)
    virtual.hold([tree.root, a])
    assert ucb(a, 0.7, 1.0, virtual) == pytest.approx(1.058419, abs=1e-6)
    virtual.release([tree.root, a])
    virtual.hold([tree.root, b])
    assert ucb(b, 0.7, 1.0, virtual) == pytest.approx(1.255886, abs=1e-6)
    assert ucb(b, 0.7, 1.0, VirtualLoss(0.0)) == ucb(b, 0.7, 1.0) == pytest.approx(1.3)


def test_parallel_iterations_share_engine_calls():
    # No scorer (values 0 until a correct answer), branch 2, no roll-out steps, parallel 2, lock-step.
    # call 1: I1 expands the root; I2 finds the root being expanded and waits. I1: roll node A, root N1.
    # I2: UCB(A) = 0 + .7 sqrt(2 ln 1) = 0 < UCB(B) = 0 + 1 -> B, expanded. I3: B is held; root N = 1 + 1 in
    # flight: UCB(A) = .7 sqrt(2 ln 2) = .824 -> A.  call 2: B and A together (sequentially: two calls,
    # B then A, which tie at .824 and the first wins). 3 iterations, root N3.
    policy = StepPolicy({(): ["A", "B"], ("A",): ["A1", "A2"], ("B",): ["B1", "B2"]})
    [outcome] = run_search("rest-mcts", {"iterations": "3", "branch": "2", "roll_steps": "0", "parallel": "2"}, policy)
    assert policy.expanded == [[()], [("B",), ("A",)]]
    nodes = by_steps(outcome.tree)
    assert nodes[()].visits == 3 and nodes[("A",)].visits == 2 and nodes[("B",)].visits == 1
    policy = StepPolicy({(): ["A", "B"], ("A",): ["A1", "A2"], ("B",): ["B1", "B2"]})
    run_search("rest-mcts", {"iterations": "3", "branch": "2", "roll_steps": "0"}, policy)
    assert policy.expanded == [[()], [("B",)], [("A",)]]


def test_self_critic_ends_a_node_the_policy_calls_solved():
    # it 1: expand root -> A (.5), B (.1); roll node A, no roll-out steps: v_max = 0 (the code's floor),
    #       V(A) = .5 * .5 + .5 * 0 = .25.  it 2: UCB(A) = .25 (ln 1 = 0), UCB(B) = .1 + 1 -> B, which is at
    #       depth 1, so the critic is asked first; it says "solved": B becomes terminal, is verified, not expanded.
    policy = StepPolicy({(): ["A", "B"]}, critic=lambda prompt: "solved" if "Partial solution:\nB\n" in prompt else "unsolved")
    scorer = TableScorer({("A",): 0.5, ("B",): 0.1})
    [outcome] = run_search("rest-mcts", {"iterations": "2", "branch": "2", "roll_steps": "0", "self_critic": "true"},
                           policy, scorer=scorer)
    assert policy.expanded == [[()], [("<critic>",)]]
    b = by_steps(outcome.tree)[("B",)]
    assert b.is_terminal and b.verdict.method == "no_answer" and not b.children and b.visits == 1
    assert value(by_steps(outcome.tree)[("A",)]) == pytest.approx(0.25)
    assert policy.calls[1][0].sampling.temperature == 0.0


def test_lock_step_batching_and_presets():
    policy, scorer = StepPolicy(SCRIPT), TableScorer(VALUES)
    run_search("rest-mcts", {"iterations": "10", "branch": "2", "roll_steps": "2"}, policy,
               [Tree(f"p{i}", "q", "5") for i in range(3)], scorer=scorer)
    assert [len(call) for call in policy.calls] == [3] * 7 and [len(c) for c in scorer.calls][0] == 6
    algorithm = get_search("rest-mcts")
    preset = algorithm.make_config({"preset": "rest-mcts"})
    assert (preset.gate, preset.alpha, preset.stop_at_gate) == (0.9, 0.5, True)
    assert algorithm.make_config({"preset": "rest-mcts-full"}).stop_at_gate is False
    with pytest.raises(ValueError, match="alpha"):
        algorithm.make_config({"alpha": "1.5"})
    assert not math.isnan(preset.c)


def test_unfinished_leaves_are_not_wrong_answers():
    # Issue 9, item 14. ReST-MCTS* code (get_full_value_samples_vm) gives a reasoning distance only to the
    # paths from an *ended* leaf up to the correct route; a leaf never expanded, or one that ended without
    # an answer (too_many_steps), has min_steps_to_correct = 1024 and no value sample.
    # root -> a -> b -> c (correct); a -> u (never expanded); a -> t (cut: too_many_steps); a -> x (wrong).
    tree = Tree("p", "q", "5")
    a = tree.root.add_child("a")
    a.add_child("b").add_child("c", is_terminal=True, verdict=Verdict(True, "string", "5"))
    a.add_child("u")
    a.add_child("t", is_terminal=True, verdict=Verdict(None, "too_many_steps"))
    a.add_child("x", is_terminal=True, verdict=Verdict(False, "string", "4"))
    values = quality_values(tree)
    assert values[(0, 1)] is None and values[(0, 2)] is None
    # x is a finished wrong answer: m = m(a) = 2, v = 1/3 - (2/3)/3 = 1/9 (as in the Figure-2 style test above)
    assert values[(0, 3)] == pytest.approx(1 / 9) and values[(0,)] == pytest.approx(1 / 3)


def test_a_step_the_critic_calls_solved_and_the_verifier_confirms_reaches_the_gate():
    # Issue 9, item 10. No scorer: values are verified outcomes (0 until a correct answer). c = .7, bonus 1,
    # branch 2 (duplicates merged), no roll-out steps (v_max = 0, the code's floor). The answer marker ends
    # step "so the answer:" and the value opens the next step "5", so no single step states the answer.
    # it 1: root -> ANS (0), Q (0); roll node ANS (first of 0 + 1): V = 0, N1.               root N1
    # it 2: UCB(ANS) = 0 + .7 sqrt(2 ln 1) = 0 < UCB(Q) = 0 + 1 -> Q: critic "unsolved"; Q -> more.  root N2
    # it 3: UCB(ANS) = UCB(Q) = .7 sqrt(2 ln 2) = .824 -> ANS: critic "unsolved"; ANS -> "5".      root N3
    # it 4: UCB(ANS) = .7 sqrt(2 ln 3 / 2) = .734 < UCB(Q) = .7 sqrt(2 ln 3) = 1.038 -> Q -> more: critic
    #       "unsolved"; expanded.                                                              root N4
    # it 5: UCB(ANS) = UCB(Q) = .7 sqrt(2 ln 4 / 2) = .824 -> ANS -> "5": critic "solved"; the whole
    #       solution states 5 and the verifier confirms it: V("5") = 1 >= .9, the search ends (10 allowed).
    #       Back-propagation: ANS N3 V 1; root N5 V = (3 * 1 + 2 * 0) / 5 = .6.
    ans = "so the answer:"
    policy = StepPolicy({(): [ans, "Q"], (ans,): ["5"]}, default="more",
                        critic=lambda prompt: "solved" if f"{ans}\n\n5\n\nDoes" in prompt else "unsolved")
    [outcome] = run_search("rest-mcts", {"iterations": "10", "branch": "2", "roll_steps": "0", "self_critic": "true"},
                           policy)
    assert policy.expanded == [[()], [("<critic>",)], [("Q",)], [("<critic>",)], [(ans,)], [("<critic>",)],
                               [("Q", "more")], [("<critic>",)]]
    nodes = by_steps(outcome.tree)
    five = nodes[(ans, "5")]
    assert five.is_terminal and five.verdict.equal is True and five.value_estimate == 1.0 and value(five) == 1.0
    assert (nodes[()].visits, value(nodes[()])) == (5, pytest.approx(0.6))
