"""Per-step label functions, each checked against numbers worked out by hand.

Tree p1 (tests/transforms/labels/hand_trees.py), completions per first step, default options
(undecided = wrong, unfinished = wrong, code_errors = skip):
    A: A0 ok, A2 wrong (A1's code failed: left out)      B: B0 wrong, B1 ok      C: C0 wrong
    D: D0 wrong      E: E0 no answer (wrong)      F -> F0 -> F00 ok
    root: 8 completions, 3 correct.
"""

import pytest

from tests.transforms.labels.hand_trees import tree_p1, tree_p2
from transforms.labels.options import StepOptions
from transforms.labels.outcomes import Outcomes, excluded, subtree_outcomes, terminal_reward
from transforms.labels.values import (prm_label, quality_step, rest_quality, rule_q, shepherd_hard, shepherd_soft,
                                      terminal_q, trusts_search_q)
from transforms.protocols import Verdict
from transforms.search.tree import Tree

A, A0, A1, A2, B, B0, C, C0, E, F, F0, F00 = (0,), (0, 0), (0, 1), (0, 2), (1,), (1, 0), (2,), (2, 0), (4,), (5,), (5, 0), (5, 0, 0)
SKIP_UNDECIDED = StepOptions(undecided="skip")


def test_outcomes_count_completions_and_distances():
    o = subtree_outcomes(tree_p1())
    assert o[()] == Outcomes(completions=8, correct=3, to_correct=2, to_end=2)  # nearest correct: A -> A0
    assert o[A] == Outcomes(2, 1, 1, 1)  # A1 left out: its code failed
    assert o[A1] == Outcomes()
    assert o[C] == Outcomes(1, 0, None, 1)  # no correct answer below C
    assert o[F] == Outcomes(1, 1, 2, 2)  # F -> F0 -> F00
    assert o[F00] == Outcomes(1, 1, 0, 0)
    assert o[A2].wrong == 1 and o[A].wrong == 1


def test_code_failures_are_left_out_or_kept_as_explicit_negatives():
    """rStar-Math (arXiv 2501.04519 §3.1) keeps only steps whose code runs: by default a failed step
    and everything below it count nowhere; code_errors=wrong keeps it as a wrong completion (-1)
    whatever its verdict (A1's verdict says 5 = gold, but its code failed)."""
    keep = subtree_outcomes(tree_p1(), StepOptions(code_errors="wrong"))
    assert keep[A1] == Outcomes(1, 0, None, 0) and keep[A] == Outcomes(3, 1, 1, 1)
    assert keep[()] == Outcomes(9, 3, 2, 2)
    # A failed code step that is not terminal takes its subtree with it (the step below is correct).
    tree = Tree("t", "q", "1")
    bad = tree.root.add_child("```python\n1/0\n```", "code", code="1/0", exec_status="error")
    bad.add_child("\\boxed{1}", "answer", is_terminal=True, verdict=Verdict(True, "numeric", "1"))
    tree.root.add_child("fails", "code", is_terminal=True, verdict=Verdict(None, "code_error"))
    tree.root.add_child("\\boxed{2}", "answer", is_terminal=True, verdict=Verdict(False, "numeric", "2"))
    o = subtree_outcomes(tree)
    assert o[(0,)] == o[(0, 0)] == o[(1,)] == Outcomes() and o[()] == Outcomes(1, 0, None, 1)
    assert subtree_outcomes(tree, StepOptions(code_errors="wrong"))[()] == Outcomes(3, 1, 2, 1)


def test_unfinished_steps_are_wrong_as_in_alphamath_and_rstar():
    """A step cut at the depth or token limit, or empty, is no answer: Super_MARIO's
    ``eval_final_answer`` backs up the negative reward -1 for TOO_MANY_STEPS (mcts.py) and rStar-Math's
    search gives it -1 too, so it counts as a wrong completion; unfinished=skip leaves it out, as
    rStar-Math's released extra_rm_file / extra_sft_file do. Even an undecided=skip run counts it."""
    tree = Tree("t", "q", "1")
    step = tree.root.add_child("Let x be")
    for method in ("too_many_steps", "length", "empty_step"):
        step.add_child("", is_terminal=True, verdict=Verdict(None, method))
    step.add_child("\\boxed{1}", "answer", is_terminal=True, verdict=Verdict(True, "numeric", "1"))
    o = subtree_outcomes(tree, SKIP_UNDECIDED)
    # 1 correct, 3 unfinished = wrong: Q = (1 - 3) / 4 = -1/2.
    assert o[(0,)] == Outcomes(4, 1, 1, 1) and terminal_q(o[(0,)]) == -0.5
    assert [terminal_reward(n) for n in step.children] == [-1.0, -1.0, -1.0, 1.0]
    skip = subtree_outcomes(tree, StepOptions(unfinished="skip"))
    assert skip[(0,)] == Outcomes(1, 1, 1, 1) and terminal_q(skip[(0,)]) == 1.0


def test_undecided_terminals_count_as_wrong_or_are_skipped():
    wrong, skip = subtree_outcomes(tree_p1()), subtree_outcomes(tree_p1(), SKIP_UNDECIDED)
    assert wrong[E] == Outcomes(1, 0, None, 1)
    assert skip[E] == Outcomes()  # E0 has no verdict: nothing to learn from below E
    assert skip[()].completions == 7


def test_terminal_q_is_the_mean_terminal_reward():
    o = subtree_outcomes(tree_p1())
    # A: rewards +1, -1 -> 0.  B: -1, +1 -> 0.  root: 3 correct, 5 wrong -> (3 - 5) / 8 = -1/4.
    assert terminal_q(o[A]) == 0.0 and terminal_q(o[B]) == 0.0
    assert terminal_q(o[C]) == -1.0 and terminal_q(o[F00]) == 1.0
    assert terminal_q(o[()]) == pytest.approx(-1 / 4)
    assert terminal_q(Outcomes()) is None and terminal_q(o[A1]) is None
    # undecided skipped: root has 3 correct, 4 wrong -> -1/7; E has no completion -> None.
    skip = subtree_outcomes(tree_p1(), SKIP_UNDECIDED)
    assert terminal_q(skip[()]) == pytest.approx(-1 / 7) and terminal_q(skip[E]) is None


def test_rule_q_trusts_the_stored_q_only_for_terminal_reward_searches():
    """Issue 9, one scale per column: the rStar Q (sum of +-1 rewards / N, arXiv 2501.04519 Eq. 2) and
    AlphaMath's Q-hat are terminal-reward estimates; SBS ranking scores and ReST-MCTS*'s V in [0, 1]
    are not, so labels recompute Q from terminal rewards there."""
    assert trusts_search_q("mcts-rstar") and trusts_search_q("mcts-alphamath")
    assert not any(trusts_search_q(s) for s in ("rest-mcts", "sbs", "best-of-n", "greedy", None))
    assert not trusts_search_q("mcts-rstar", "terminal")
    p1, p2 = tree_p1(), tree_p2()
    o1, o2 = subtree_outcomes(p1), subtree_outcomes(p2)
    assert rule_q(p1.root.children[0], o1[A], True) == 0.0  # no visits -> terminal Q
    y = p2.root.children[1]
    # Y: stored W/N = 0.0 / 2 = 0.0, while its only completion is wrong (terminal Q -1).
    assert rule_q(y, o2[(1,)], True) == 0.0 and rule_q(y, o2[(1,)], False) == -1.0
    assert rule_q(p2.root.children[2], o2[(2,)], True) == pytest.approx(-0.9)  # Z: -1.8 / 2
    # A failed code step has no Q, even if the search stored one (rStar's node-only -1 update).
    failed = p1.root.children[0].children[1]
    failed.visits, failed.value_sum = 1, -1.0
    assert excluded(p1) == {A1} and rule_q(failed, o1[A1], True, left_out=True) is None
    # An AlphaMath node evaluated by V_phi, with no terminal below yet, keeps its Q-hat (the paper's
    # value target); with the search untrusted it has no Q (no completion).
    tree = Tree("t", "q", "1")
    open_step = tree.root.add_child("x = 2", visits=2, value_sum=0.6)
    assert rule_q(open_step, Outcomes(), True) == pytest.approx(0.3) and rule_q(open_step, Outcomes()) is None


def test_math_shepherd_hard_and_soft_estimates():
    o = subtree_outcomes(tree_p1())
    # A: 1 of 2 completions correct -> hard 1, soft 1/2.  C: 0 of 1 -> 0, 0.  root: 3 of 8.
    assert (shepherd_hard(o[A]), shepherd_soft(o[A])) == (1.0, 0.5)
    assert (shepherd_hard(o[C]), shepherd_soft(o[C])) == (0.0, 0.0)
    assert shepherd_soft(o[()]) == pytest.approx(3 / 8)
    assert shepherd_hard(Outcomes()) is None and shepherd_soft(Outcomes()) is None


def test_rest_quality_values_by_hand():
    q = rest_quality(tree_p1(), subtree_outcomes(tree_p1()))
    # A: correct reachable (r = 0) at m = 1: w = (1 - 0) / 2 * 1 = 0.5, v = 0.5.
    assert (q[A].distance, q[A].step_reward, q[A].weighted_reward, q[A].value) == (1, 0, 0.5, 0.5)
    # A0 (correct final step): m = 0, w = (1 - 0.5) / 1 = 0.5, v = 1 -- the paper's v_K = 1.
    assert q[A0].value == 1.0
    # A2 (wrong final step): r = 1, m = A's m = 1: w = -(1 - 0.5) / 2 = -0.25, v = 0.25.
    assert (q[A2].distance, q[A2].step_reward, q[A2].weighted_reward, q[A2].value) == (1, 1, -0.25, 0.25)
    assert q[A1] is None  # failed code step: no completion counted
    # C: off-route; nearest on-route ancestor is the root, m = 2: w = -(1 - 0) / 3, v = max(-1/3, 0) = 0.
    assert (q[C].distance, q[C].step_reward, q[C].value) == (2, 1, 0.0)
    assert q[C].weighted_reward == pytest.approx(-1 / 3)
    # C0 below it keeps m = 2: w = -(1 - 0) / 3, v = 0.
    assert (q[C0].distance, q[C0].value) == (2, 0.0)
    # A correct chain of K = 3 steps climbs linearly, v_k = k / K:
    # F: w = 1/3 -> 1/3;  F0: w = (1 - 1/3) / 2 = 1/3 -> 2/3;  F00: w = (1 - 2/3) / 1 = 1/3 -> 1.
    assert [q[p].distance for p in (F, F0, F00)] == [2, 1, 0]
    assert [q[p].value for p in (F, F0, F00)] == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_rest_quality_figure_2_of_the_paper():
    """ReST-MCTS* (arXiv 2406.03816) Figure 2: Step 1 -> Step 2 -> Step 3 reaches the correct answer
    (v = 1/3, 2/3, 1); a wrong Step 3 below Step 2 takes Step 2's reasoning distance m = 1 (its
    nearest on-route ancestor; released code ``get_full_value_samples_vm`` copies the ancestor's
    min_steps_to_correct down): w = (1 - 2/3) / (1 + 1) * (1 - 2) = -1/6, v = 2/3 - 1/6 = 1/2.
    A step below the wrong Step 3 keeps m = 1: w = -(1 - 1/2) / 2 = -1/4, v = 1/4."""
    tree = Tree("fig2", "q", "1")
    step2 = tree.root.add_child("Step 1").add_child("Step 2")
    step2.add_child("Step 3", "answer", is_terminal=True, verdict=Verdict(True, "numeric", "1"))
    wrong3 = step2.add_child("wrong Step 3")
    wrong3.add_child("Step 4", "answer", is_terminal=True, verdict=Verdict(False, "numeric", "2"))
    q = rest_quality(tree, subtree_outcomes(tree))
    assert [q[p].value for p in ((0,), (0, 0), (0, 0, 0))] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert (q[(0, 0, 1)].distance, q[(0, 0, 1)].step_reward) == (1, 1)
    assert q[(0, 0, 1)].weighted_reward == pytest.approx(-1 / 6) and q[(0, 0, 1)].value == pytest.approx(0.5)
    assert q[(0, 0, 1, 0)].value == pytest.approx(0.25)


def test_rest_quality_is_undefined_without_a_correct_answer_or_completions():
    """The paper defines m_k only when a correct answer is reachable, and the released code makes no
    value samples from a tree without one: no label there (previously the distance to the nearest
    wrong terminal was used)."""
    tree = Tree("t", "q", "1")
    tree.root.add_child("think").add_child("\\boxed{2}", "answer", is_terminal=True, verdict=Verdict(False, "numeric", "2"))
    tree.root.add_child("more", is_terminal=False)
    assert set(rest_quality(tree, subtree_outcomes(tree)).values()) == {None}
    # A step without completions in a tree that has a correct answer is unlabelled too.
    tree.root.add_child("\\boxed{1}", "answer", is_terminal=True, verdict=Verdict(True, "numeric", "1"))
    q = rest_quality(tree, subtree_outcomes(tree))
    assert q[(1,)] is None and q[(2,)].value == 1.0
    # think: off-route; the root is one step from the answer (m = 1): w = -(1 - 0) / 2, v = max(-1/2, 0) = 0.
    assert (q[(0,)].distance, q[(0,)].value) == (1, 0.0)


def test_rest_quality_step_formula():
    # v_prev = 0.25, on-route at m = 2: w = 0.75 / 3 = 0.25, v = 0.5.
    step = quality_step(0.25, 2, True)
    assert (step.weighted_reward, step.value) == (0.25, 0.5)
    # v_prev = 0.6, off-route with the ancestor's m = 1: w = -0.4 / 2 = -0.2, v = 0.4.
    assert quality_step(0.6, 1, False).value == pytest.approx(0.4)


def test_prm_label_sources():
    o = Outcomes(4, 3, 1, 1)
    assert prm_label("soft", o, None, None) == 0.75
    assert prm_label("hard", o, None, None) == 1.0
    assert prm_label("q", o, 0.5, None) == 0.75  # (0.5 + 1) / 2
    assert prm_label("q", o, 3.0, None) == 1.0  # outside [-1, 1]: clipped
    assert prm_label("rest", o, None, quality_step(0.0, 1, True)) == 0.5  # m = 1: w = 1/2
    assert prm_label("rest", o, None, None) is None
    with pytest.raises(ValueError, match="unknown PRM label"):
        prm_label("nope", o, None, None)


def test_terminal_without_verdict_object_is_undecided():
    tree = Tree("t", "q", "1")
    tree.root.add_child("no verdict stored", is_terminal=True)
    tree.root.add_child("ok", is_terminal=True, verdict=Verdict(True, "string", "1"))
    o = subtree_outcomes(tree)
    assert o[()] == Outcomes(2, 1, 1, 1)
    assert subtree_outcomes(tree, SKIP_UNDECIDED)[()] == Outcomes(1, 1, 1, 1)
