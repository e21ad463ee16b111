"""Per-step label functions, each checked against numbers worked out by hand.

Tree p1 (tests/transforms/labels/hand_trees.py), completions per first step, undecided = wrong:
    A: A0 ok, A1 ok, A2 wrong      B: B0 wrong, B1 ok      C: C0 wrong      D: D0 wrong
    E: E0 no answer (wrong)        F -> F0 -> F00 ok
    root: 9 completions, 4 correct.
"""

import pytest

from tests.transforms.labels.hand_trees import tree_p1, tree_p2
from transforms.labels.outcomes import Outcomes, subtree_outcomes
from transforms.labels.values import (prm_label, quality_step, rest_quality, rule_q, shepherd_hard, shepherd_soft,
                                      terminal_q)
from transforms.protocols import Verdict
from transforms.search.tree import Tree

A, A0, A2, B, C, E, F, F0, F00 = (0,), (0, 0), (0, 2), (1,), (2,), (4,), (5,), (5, 0), (5, 0, 0)


def test_outcomes_count_completions_and_distances():
    o = subtree_outcomes(tree_p1())
    assert o[()] == Outcomes(completions=9, correct=4, to_correct=2, to_end=2)  # nearest correct: A -> A0
    assert o[A] == Outcomes(3, 2, 1, 1)
    assert o[C] == Outcomes(1, 0, None, 1)  # no correct answer below C
    assert o[F] == Outcomes(1, 1, 2, 2)  # F -> F0 -> F00
    assert o[F00] == Outcomes(1, 1, 0, 0)
    assert o[A2].wrong == 1 and o[A].wrong == 1


def test_undecided_terminals_count_as_wrong_or_are_skipped():
    wrong, skip = subtree_outcomes(tree_p1(), "wrong"), subtree_outcomes(tree_p1(), "skip")
    assert wrong[E] == Outcomes(1, 0, None, 1)
    assert skip[E] == Outcomes()  # E0 has no verdict: nothing to learn from below E
    assert skip[()].completions == 8


def test_terminal_q_is_the_mean_terminal_reward():
    o = subtree_outcomes(tree_p1())
    # A: rewards +1, +1, -1 -> 1/3.  B: -1, +1 -> 0.  root: 4 correct, 5 wrong -> (4 - 5) / 9.
    assert terminal_q(o[A]) == pytest.approx(1 / 3)
    assert terminal_q(o[B]) == 0.0
    assert terminal_q(o[C]) == -1.0 and terminal_q(o[F00]) == 1.0
    assert terminal_q(o[()]) == pytest.approx(-1 / 9)
    assert terminal_q(Outcomes()) is None
    # undecided skipped: root has 4 correct, 4 wrong -> 0; E has no completion -> None.
    skip = subtree_outcomes(tree_p1(), "skip")
    assert terminal_q(skip[()]) == 0.0 and terminal_q(skip[E]) is None


def test_rule_q_prefers_the_stored_search_q():
    p1, p2 = tree_p1(), tree_p2()
    o1, o2 = subtree_outcomes(p1), subtree_outcomes(p2)
    a = p1.root.children[0]
    assert rule_q(a, o1[A]) == pytest.approx(1 / 3)  # best-of-n style: no visits -> terminal Q
    y = p2.root.children[1]
    # Y: stored W/N = 0.0 / 2 = 0.0, while its only completion is wrong (terminal Q -1).
    assert rule_q(y, o2[(1,)]) == 0.0 and terminal_q(o2[(1,)]) == -1.0
    assert rule_q(p2.root.children[2], o2[(2,)]) == pytest.approx(-0.9)  # Z: -1.8 / 2


def test_math_shepherd_hard_and_soft_estimates():
    o = subtree_outcomes(tree_p1())
    # A: 2 of 3 completions correct -> hard 1, soft 2/3.  C: 0 of 1 -> 0, 0.  root: 4 of 9.
    assert (shepherd_hard(o[A]), shepherd_soft(o[A])) == (1.0, pytest.approx(2 / 3))
    assert (shepherd_hard(o[C]), shepherd_soft(o[C])) == (0.0, 0.0)
    assert shepherd_soft(o[()]) == pytest.approx(4 / 9)
    assert shepherd_hard(Outcomes()) is None and shepherd_soft(Outcomes()) is None


def test_rest_quality_values_by_hand():
    q = rest_quality(tree_p1(), subtree_outcomes(tree_p1()))
    # A: correct reachable (r = 0) at m = 1: w = (1 - 0) / 2 * 1 = 0.5, v = 0.5.
    assert (q[A].distance, q[A].step_reward, q[A].weighted_reward, q[A].value) == (1, 0, 0.5, 0.5)
    # A0 (correct final step): m = 0, w = (1 - 0.5) / 1 = 0.5, v = 1 -- the paper's v_K = 1.
    assert q[A0].value == 1.0
    # A2 (wrong final step): r = 1, m = 0: w = -(1 - 0.5) / 1 = -0.5, v = max(0.5 - 0.5, 0) = 0.
    assert (q[A2].step_reward, q[A2].weighted_reward, q[A2].value) == (1, -0.5, 0.0)
    # C: no correct answer below, distance to its wrong end 1: w = -(1 - 0) / 2 = -0.5, v = max(-0.5, 0) = 0.
    assert (q[C].distance, q[C].step_reward, q[C].weighted_reward, q[C].value) == (1, 1, -0.5, 0.0)
    # A correct chain of K = 3 steps climbs linearly, v_k = k / K:
    # F: w = 1/3 -> 1/3;  F0: w = (1 - 1/3) / 2 = 1/3 -> 2/3;  F00: w = (1 - 2/3) / 1 = 1/3 -> 1.
    assert [q[p].distance for p in (F, F0, F00)] == [2, 1, 0]
    assert [q[p].value for p in (F, F0, F00)] == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_rest_quality_step_formula_and_missing_completions():
    # v_prev = 0.25, correct at m = 2: w = 0.75 / 3 = 0.25, v = 0.5.
    step = quality_step(0.25, Outcomes(1, 1, 2, 2))
    assert (step.weighted_reward, step.value) == (0.25, 0.5)
    # v_prev = 0.6, wrong, nearest end 1 step away: w = -0.4 / 2 = -0.2, v = 0.4.
    assert quality_step(0.6, Outcomes(1, 0, None, 1)).value == pytest.approx(0.4)
    assert quality_step(0.5, Outcomes()) is None
    # A step under an unlabelled one stays unlabelled (v_{k-1} unknown).
    tree = Tree("t", "q", "1")
    tree.root.add_child("think").add_child("more", is_terminal=False)
    assert set(rest_quality(tree, subtree_outcomes(tree)).values()) == {None}


def test_prm_label_sources():
    o = Outcomes(4, 3, 1, 1)
    assert prm_label("soft", o, None, None) == 0.75
    assert prm_label("hard", o, None, None) == 1.0
    assert prm_label("q", o, 0.5, None) == 0.75  # (0.5 + 1) / 2
    assert prm_label("q", o, 3.0, None) == 1.0  # a stored Q outside [-1, 1] is clipped
    assert prm_label("rest", o, None, quality_step(0.0, o)) == 0.5  # m = 1: w = 1/2
    assert prm_label("rest", o, None, None) is None
    with pytest.raises(ValueError, match="unknown PRM label"):
        prm_label("nope", o, None, None)


def test_terminal_without_verdict_object_is_undecided():
    tree = Tree("t", "q", "1")
    tree.root.add_child("no verdict stored", is_terminal=True)
    tree.root.add_child("ok", is_terminal=True, verdict=Verdict(True, "string", "1"))
    o = subtree_outcomes(tree)
    assert o[()] == Outcomes(2, 1, 1, 1)
    assert subtree_outcomes(tree, "skip")[()] == Outcomes(1, 1, 1, 1)
