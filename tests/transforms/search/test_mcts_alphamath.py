"""AlphaMath MCTS: PUCT and leaf-value formulas by hand, and a fully scripted trajectory."""

import math

import pytest

from tests.transforms.search.step_fakes import StepPolicy, TableScorer, by_steps, run_search
from transforms.search import get_search
from transforms.search.mcts_alphamath import leaf_value, puct
from transforms.search.stepwise import descend
from transforms.search.tree import Tree

OK, WRONG = "#### answer: 5", "#### answer: 4"


def _three_level_tree() -> Tree:
    """root (N=10) -> a (N=6, W=3, P=.7), b (N=3, W=-1.5, P=.2), c (N=0, P=.1); a -> a0 (N=4, W=2, P=.6), a1 (N=1, W=-1, P=.4)."""
    tree = Tree("p", "q", "5")
    tree.root.visits = 10
    a = tree.root.add_child("a", visits=6, value_sum=3.0, prior=0.7)
    tree.root.add_child("b", visits=3, value_sum=-1.5, prior=0.2)
    tree.root.add_child("c", prior=0.1)
    a.add_child("a0", visits=4, value_sum=2.0, prior=0.6)
    a.add_child("a1", visits=1, value_sum=-1.0, prior=0.4)
    return tree


def test_puct_by_hand_on_a_three_level_tree():
    tree = _three_level_tree()
    a, b, c = tree.root.children
    # PUCT = Q + c_puct * P * sqrt(N_parent) / (1 + N), c_puct = 1.25, sqrt(10) = 3.162278
    # a: 3/6 + 1.25 * .7 * 3.162278 / 7 = 0.5 + 0.395285 = 0.895285
    # b: -1.5/3 + 1.25 * .2 * 3.162278 / 4 = -0.5 + 0.197642 = -0.302358
    # c: 0 (unvisited) + 1.25 * .1 * 3.162278 / 1 = 0.395285
    assert puct(a, 1.25) == pytest.approx(0.895285, abs=1e-6)
    assert puct(b, 1.25) == pytest.approx(-0.302358, abs=1e-6)
    assert puct(c, 1.25) == pytest.approx(0.395285, abs=1e-6)
    a0, a1 = a.children
    # under a (N=6, sqrt(6) = 2.449490): a0: 2/4 + 1.25 * .6 * 2.449490 / 5 = 0.5 + 0.367423 = 0.867423
    #                                     a1: -1/1 + 1.25 * .4 * 2.449490 / 2 = -1 + 0.612372 = -0.387628
    assert puct(a0, 1.25) == pytest.approx(0.867423, abs=1e-6)
    assert puct(a1, 1.25) == pytest.approx(-0.387628, abs=1e-6)
    assert descend(tree.root, lambda n: puct(n, 1.25)) is a0  # root -> a -> a0, a leaf


def test_leaf_value_mixes_value_model_and_reward():
    # V = (1 - lambda) * V_phi + lambda * r (AlphaMath Sec. 3.1, value-estimation equation)
    assert leaf_value(0.4, 1.0, 0.5) == pytest.approx(0.7)  # .5 * .4 + .5 * 1
    assert leaf_value(0.4, 0.0, 0.25) == pytest.approx(0.3)  # .75 * .4 + .25 * 0
    assert leaf_value(0.4, -1.0, 1.0) == -1.0  # lambda = 1: the reward alone
    assert leaf_value(None, 0.0, 0.5) == 0.0  # no estimate: the reward
    # reward_weight=terminal (AlphaMath's data generation): lambda = 1 at a terminal node, 0 elsewhere.
    assert leaf_value(0.2, 1.0, "terminal", terminal=True) == 1.0  # a correct answer is never pulled to V_phi
    assert leaf_value(0.9, -1.0, "terminal", terminal=True) == -1.0
    assert leaf_value(0.4, 0.0, "terminal") == pytest.approx(0.4)  # a non-terminal leaf: V_phi alone


SCRIPT = {
    (): ["A", "B"],
    ("A",): ["A1", WRONG],
    ("B",): [OK, "B1"],
    ("B", "B1"): [OK, "#### answer: 6"],
}


def test_scripted_trajectory_expands_and_backs_up_as_worked_by_hand():
    # Priors (paper Sec. 3.1, Super_MARIO expand_node): exp(mean token logprob) = e^-.5 = 0.606531 for every
    # step (the fake policy gives -0.5 per token). c_puct * P = 1.25 * 0.606531 = 0.758163.
    # it 1: expand root -> A, B; back up root with V = 0.                       root N1 W0
    # it 2: PUCT(A) = PUCT(B) = .758163 * sqrt(1) / 1, tie -> A. Expand A -> A1, WRONG (terminal,
    #       r = -1 backed up from it), then A with 0.                          A N2 W-1, root N3 W-1
    # it 3: PUCT(A) = -1/2 + .758163 * sqrt(3) / 3 = -0.062; PUCT(B) = 0 + .758163 * sqrt(3) = 1.313 -> B.
    #       Expand B -> OK (+1), B1; back up B with 0.                          B N2 W1, root N5 W0
    # it 4: PUCT(A) = -.5 + .758163 * sqrt(5) / 3 = 0.065; PUCT(B) = .5 + .565 = 1.065 -> B; under B only B1
    #       is left (OK is terminal). Expand B1 at depth 2: both children (depth 3) state answers and are
    #       verified: +1 and -1, then B1 with 0.                               B1 N3 W0, B N5 W1, root N8 W0
    policy = StepPolicy(SCRIPT)
    [outcome] = run_search("mcts-alphamath", {"iterations": "4", "n": "2", "max_depth": "3", "c_puct": "1.25"}, policy)
    assert policy.expanded == [[()], [("A",)], [("B",)], [("B", "B1")]]
    nodes = by_steps(outcome.tree)
    stats = {steps: (n.visits, n.value_sum) for steps, n in nodes.items()}
    assert stats == {
        (): (8, 0.0), ("A",): (2, -1.0), ("A", "A1"): (0, 0.0), ("A", WRONG): (1, -1.0),
        ("B",): (5, 1.0), ("B", OK): (1, 1.0), ("B", "B1"): (3, 0.0),
        ("B", "B1", OK): (1, 1.0), ("B", "B1", "#### answer: 6"): (1, -1.0),
    }
    assert nodes[("A",)].prior == nodes[("B",)].prior == pytest.approx(0.606531, abs=1e-6)
    assert nodes[("B", "B1", "#### answer: 6")].is_terminal and nodes[("B", "B1", "#### answer: 6")].verdict.equal is False
    assert not nodes[("A", "A1")].is_terminal


def test_many_trees_share_each_policy_call_and_stop_when_exhausted():
    # Three problems run in lock-step: every round is one call with one request per problem.
    policy = StepPolicy(SCRIPT)
    trees = [Tree(f"p{i}", "q", "5") for i in range(3)]
    run_search("mcts-alphamath", {"iterations": "4", "n": "2", "max_depth": "3"}, policy, trees)
    assert [len(call) for call in policy.calls] == [3, 3, 3, 3]
    assert len({r.sampling.seed for r in policy.calls[0]}) == 3  # per-problem seeds
    # A tree whose every branch ends stops early: root -> two terminal answers, nothing left.
    policy = StepPolicy({(): [OK, WRONG]})
    [outcome] = run_search("mcts-alphamath", {"iterations": "10", "n": "2"}, policy)
    assert len(policy.calls) == 1 and outcome.tree.root.visits == 3


def test_value_model_is_mixed_in_and_scored_in_one_call_per_expansion():
    # lambda = .5: the expanded leaf backs up .5 * V_phi(leaf); a terminal child .5 * V_phi + .5 * r.
    policy = StepPolicy({(): ["A", OK]})
    scorer = TableScorer({(): 0.2, ("A",): 0.6, (OK,): 0.8})
    [outcome] = run_search("mcts-alphamath", {"iterations": "1", "n": "2", "reward_weight": "0.5"}, policy,
                           scorer=scorer)
    assert scorer.calls == [[(), ("A",), (OK,)]]  # root and both children in one call
    nodes = by_steps(outcome.tree)
    assert nodes[(OK,)].value_sum == pytest.approx(0.5 * 0.8 + 0.5 * 1)  # 0.9
    assert nodes[()].value_sum == pytest.approx(0.9 + 0.5 * 0.2)  # child's backup + root's own 0.1
    assert nodes[("A",)].value_estimate == 0.6 and nodes[("A",)].visits == 0
    with pytest.raises(AssertionError, match="needs a value model"):
        run_search("mcts-alphamath", {"reward_weight": "0.5"}, StepPolicy({}))


def test_priors_follow_step_logprobs():
    # Mean token logprobs -0.2 and -1.0 (two tokens each).
    # Default, AlphaMath (paper Sec. 3.1; Super_MARIO expand_node: np.exp(cumulative_logprob / len(token_ids))):
    # e^-.2 = 0.818731 and e^-1 = 0.367879, not normalised over siblings (they sum to 1.186610).
    policy = StepPolicy({(): [("x y", -0.2), ("z w", -1.0)]})
    [outcome] = run_search("mcts-alphamath", {"iterations": "1", "n": "2"}, policy)
    first, second = outcome.tree.root.children
    assert first.prior == pytest.approx(0.818731, abs=1e-6) and second.prior == pytest.approx(0.367879, abs=1e-6)
    # prior=softmax (an alternative): e^-.2 / (e^-.2 + e^-1) = 0.689974
    policy = StepPolicy({(): [("x y", -0.2), ("z w", -1.0)]})
    [outcome] = run_search("mcts-alphamath", {"iterations": "1", "n": "2", "prior": "softmax"}, policy)
    first, second = outcome.tree.root.children
    assert first.prior == pytest.approx(math.exp(-0.2) / (math.exp(-0.2) + math.exp(-1.0)))
    assert first.prior == pytest.approx(0.689974, abs=1e-6) and second.prior == pytest.approx(0.310026, abs=1e-6)


def test_resuming_a_reloaded_tree_continues_the_same_search():
    # 2 iterations, save rows, reload, 2 more == 4 iterations straight (state lives in the tree).
    params = {"iterations": "2", "n": "2", "max_depth": "3"}
    [first] = run_search("mcts-alphamath", params, StepPolicy(SCRIPT))
    rows = first.tree.to_rows(run_id="r", model_id="m", search="mcts-alphamath", search_config_hash="h")
    reloaded = Tree.from_rows(rows, question="q", gold_answer="5")
    policy = StepPolicy(SCRIPT)
    [resumed] = run_search("mcts-alphamath", params, policy, [reloaded])
    [straight] = run_search("mcts-alphamath", {**params, "iterations": "4"}, StepPolicy(SCRIPT))
    assert policy.expanded == [[("B",)], [("B", "B1")]]
    created = rows[0]["created_at"]
    assert (resumed.tree.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h", created_at=created)
            == straight.tree.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h", created_at=created))


def test_config_validation_and_presets():
    algorithm = get_search("mcts-alphamath")
    assert algorithm.make_config({"preset": "alphamath"}) == algorithm.config_cls(
        iterations=40, n=5, c_puct=1.25, max_depth=8, reward_weight=1.0, temperature=0.6)
    assert algorithm.make_config({"preset": "alphamath", "iterations": "3"}).iterations == 3
    assert algorithm.make_config({"preset": "super-mario-code"}).prior == "exp_mean"
    assert {algorithm.make_config({"preset": name}).prior for name in algorithm.presets} == {"exp_mean"}
    value = algorithm.make_config({"preset": "alphamath-value"})
    assert value.reward_weight == "terminal" and algorithm.requires_scorer(value)
    assert algorithm.make_config({"reward_weight": "0.25"}).reward_weight == 0.25
    assert algorithm.requires_scorer(algorithm.make_config({"preset": "alphamath-value"}))
    for bad, message in [({"iterations": "0"}, "iterations must be >= 1"), ({"reward_weight": "2"}, "lambda"), ({"reward_weight": "final"}, "lambda"),
                         ({"prior": "nope"}, "prior must be"), ({"preset": "nope"}, "unknown AlphaMathConfig preset")]:
        with pytest.raises(ValueError, match=message):
            algorithm.make_config(bad)


def test_terminal_lambda_backs_up_rewards_at_terminals_and_v_phi_elsewhere():
    # AlphaMath Sec. 3.1 for training data: V = r at terminal nodes, V_phi elsewhere (Super_MARIO backs up the
    # reward from eval_final_answer and the value head's estimate for other leaves). One iteration: root
    # expands to A (V_phi .6) and OK (V_phi .2, verified correct) -> OK backs up exactly +1 (never .5 * .2 + .5),
    # the expanded root backs up V_phi(root) = .3.  root: N = 2, W = 1 + .3 = 1.3.
    policy = StepPolicy({(): ["A", OK]})
    scorer = TableScorer({(): 0.3, ("A",): 0.6, (OK,): 0.2})
    [outcome] = run_search("mcts-alphamath", {"preset": "alphamath-value", "iterations": "1", "n": "2"}, policy,
                           scorer=scorer)
    nodes = by_steps(outcome.tree)
    assert (nodes[(OK,)].visits, nodes[(OK,)].value_sum) == (1, 1.0)
    assert nodes[()].visits == 2 and nodes[()].value_sum == pytest.approx(1.3)
    assert nodes[("A",)].visits == 0 and nodes[("A",)].value_estimate == 0.6


def test_unfinished_branches_back_up_the_negative_reward_to_the_root():
    # Issue 9, item 1 (Super_MARIO eval_final_answer: TOO_MANY_STEPS / NO_VALID_CHILD -> update_recursive(-1)).
    # max_depth 1: root -> A (depth 1, goes on); A -> "so 5" at depth 2 > 1 states no answer: too_many_steps,
    # verdict None, -1 backed up to the root, although the verifier's last-number fallback would read 5.
    # it 1: root N1 W0 (expanded, V = 0). it 2: A -> "so 5" (-1 from it), then A with 0: A N2 W-1, root N3 W-1.
    policy = StepPolicy({(): ["A"], ("A",): ["so 5"]})
    [outcome] = run_search("mcts-alphamath", {"iterations": "2", "n": "1", "max_depth": "1"}, policy)
    nodes = by_steps(outcome.tree)
    cut = nodes[("A", "so 5")]
    assert cut.is_terminal and (cut.verdict.equal, cut.verdict.method) == (None, "too_many_steps")
    assert (cut.visits, cut.value_sum) == (1, -1.0)
    assert (nodes[("A",)].visits, nodes[("A",)].value_sum) == (2, -1.0)
    assert (nodes[()].visits, nodes[()].value_sum) == (3, -1.0)
