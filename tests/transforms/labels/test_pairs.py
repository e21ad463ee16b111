"""Pair rules and the SFT selection on the hand trees, with every expected pair worked out by hand.

Rule Q (stored search Q, else Q from terminal rewards):
  p1 (no stored Q):  A 1/3, B 0, C -1, D -1, E -1, F 1;  A0 1, A1 1, A2 -1;  B0 -1, B1 1.
  p2 (stored W/N):   X 0.3, Y 0.0, Z -0.9, W -0.8, V -0.7; leaves +-1.
Texts: A "Adding the numbers: 2 + 3 = 5."  D "Adding the numbers: 2 + 3 = 6!"  (2 edits apart).
"""

import dataclasses

import pytest

from tests.transforms.labels.hand_trees import tree_p1, tree_p2
from transforms.labels.options import PpmOptions, SftOptions, SiblingOptions, SolutionOptions
from transforms.labels.outcomes import subtree_outcomes
from transforms.labels.pairs import edit_distance, ppm_pairs, sibling_pairs, solution_pairs
from transforms.labels.traces import select_sft, traces
from transforms.labels.values import rule_q
from transforms.search.tree import path_str


def _setup(tree, undecided="wrong"):
    outcomes = subtree_outcomes(tree, undecided)
    q = {n.path: rule_q(n, outcomes[n.path]) for n in tree.nodes()}
    return outcomes, q


def _names(pairs):
    """(branch path, chosen path, rejected path) of each pair."""
    return [(path_str(p.branch.path), path_str(p.chosen.path), path_str(p.rejected.path)) for p in pairs]


def test_edit_distance_is_levenshtein_up_to_the_cap():
    assert edit_distance("kitten", "sitting", 10) == 3  # k->s, e->i, +g
    assert edit_distance("kitten", "sitting", 2) == 2  # capped
    assert edit_distance("", "abc", 10) == 3 and edit_distance("same", "same", 10) == 0
    assert edit_distance("a" * 500, "b" * 500, 8) == 8  # stops early: no row stays below the cap
    assert edit_distance("Adding the numbers: 2 + 3 = 5.", "Adding the numbers: 2 + 3 = 6!", 64) == 2


def test_ppm_pairs_on_p1_by_hand():
    tree = tree_p1()
    outcomes, q = _setup(tree)
    pairs = ppm_pairs(tree, outcomes, q, PpmOptions())
    # root: positives (lead to a correct answer) by Q: F 1, A 1/3 (B 0 is third: dropped);
    #   negatives (only wrong below) by Q: C -1, D -1 (E -1 is third; ties go by path).
    #   F-C, F-D, A-C pass; A-D is dropped: the step texts are only 2 edits apart (< 5).
    # A: positives A0, A1 (Q 1); one negative A2 -> positives may take up to 4 (only 2 exist).
    # B: B1 vs B0.   F, F0, C, D, E: correct-only or wrong-only below -> no pairs.
    assert _names(pairs) == [("", "5", "2"), ("", "5", "3"), ("", "0", "2"),
                             ("0", "0.0", "0.2"), ("0", "0.1", "0.2"), ("1", "1.1", "1.0")]
    assert [(p.pos_count, p.neg_count) for p in pairs] == [(2, 2)] * 3 + [(2, 1)] * 2 + [(1, 1)]
    # Margins: F-C = 1 - (-1) = 2; A-C = 1/3 + 1 = 4/3; leaf pairs 1 - (-1) = 2.
    assert [p.margin for p in pairs] == pytest.approx([2, 2, 4 / 3, 2, 2, 2])
    assert pairs[2].chosen_text == "Adding the numbers: 2 + 3 = 5." and pairs[2].branch.steps() == ()
    assert pairs[3].branch.steps() == ("Adding the numbers: 2 + 3 = 5.",)


def test_ppm_pairs_on_p2_use_stored_q_margin_and_one_side_up_to_four():
    tree = tree_p2()
    outcomes, q = _setup(tree)
    pairs = ppm_pairs(tree, outcomes, q, PpmOptions())
    # One positive (X 0.3) -> negatives may take 4: Z -0.9, W -0.8, V -0.7, Y 0.0 (lowest Q first).
    # Margins 1.2, 1.1, 1.0 pass; X-Y = 0.3 < 0.5 is dropped. With terminal Q, Y would be -1 (margin 1.3):
    # the stored Q decides.
    assert _names(pairs) == [("", "0", "2"), ("", "0", "3"), ("", "0", "4")]
    assert [p.margin for p in pairs] == pytest.approx([1.2, 1.1, 1.0])
    assert {(p.pos_count, p.neg_count) for p in pairs} == {(1, 4)}
    # Every rule is an option: per-side 1 without the widening keeps only the lowest negative, Z.
    narrow = ppm_pairs(tree, outcomes, q, PpmOptions(per_side=1, single_side_max=1))
    assert _names(narrow) == [("", "0", "2")] and narrow[0].neg_count == 1
    # A margin of 0.2 lets X-Y through.
    assert len(ppm_pairs(tree, outcomes, q, PpmOptions(min_margin=0.2))) == 4


def test_ppm_edit_distance_option():
    tree = tree_p1()
    outcomes, q = _setup(tree)
    # With no edit-distance minimum, A-D at the root is kept too (7 pairs instead of 6).
    assert len(ppm_pairs(tree, outcomes, q, PpmOptions(min_edit_distance=0))) == 7


def test_sibling_pairs_take_highest_vs_lowest_child():
    p1, p2 = tree_p1(), tree_p2()
    # p1 root: best F (1), worst C (-1, first of C, D, E); A: A0 vs A2; B: B1 vs B0. Single children: none.
    assert _names(sibling_pairs(p1, _setup(p1)[1], SiblingOptions())) == [("", "5", "2"), ("0", "0.0", "0.2"), ("1", "1.1", "1.0")]
    # p2 root: X (0.3) vs Z (-0.9), margin 1.2.
    [pair] = sibling_pairs(p2, _setup(p2)[1], SiblingOptions())
    assert _names([pair]) == [("", "0", "2")] and pair.margin == pytest.approx(1.2)
    assert sibling_pairs(p2, _setup(p2)[1], SiblingOptions(min_margin=1.5)) == []


def test_solution_pairs_rank_correct_best_first_and_wrong_worst_first():
    tree = tree_p1()
    outcomes, q = _setup(tree)
    pairs = solution_pairs(tree, traces(tree, q), SolutionOptions())
    # Correct traces by (mean Q, min Q): F00 (1, 1), A0 (2/3, 1/3), A1 (2/3, 1/3), B1 (1/2, 0).
    # Wrong traces worst first: C0 (-1), D0 (-1), E0 (-1), B0 (-1/2), A2 (-1/3).
    # Index pairs by rank sum: (0,0) F00-C0, (0,1) F00-D0, (1,0) A0-C0, (0,2) F00-E0.
    assert _names(pairs) == [("", "5.0.0", "2.0"), ("", "5.0.0", "3.0"), ("", "0.0", "2.0"), ("", "5.0.0", "4.0")]
    assert [p.margin for p in pairs] == pytest.approx([2, 2, 5 / 3, 2])
    assert pairs[0].chosen_text == "First, 2 + 3.\n\nThat equals 5.\n\n\\boxed{5}"
    # Undecided skipped: E0 is neither correct nor wrong, so F00-B0 takes its place.
    skip_q = _setup(tree, "skip")[1]
    skipped = solution_pairs(tree, traces(tree, skip_q, "skip"), SolutionOptions())
    assert ("", "5.0.0", "4.0") not in _names(skipped) and ("", "5.0.0", "1.0") in _names(skipped)
    assert len(solution_pairs(tree, traces(tree, q), SolutionOptions(max_pairs=2))) == 2


def test_sft_keeps_top_k_correct_traces_and_drops_code_errors():
    tree = tree_p1()
    _, q = _setup(tree)
    all_traces = traces(tree, q)
    # Same ranking as above; A1's code step failed (exec_status error).
    top = select_sft(all_traces, SftOptions(top_k=3))
    assert [path_str(t.leaf.path) for t in top] == ["5.0.0", "0.0", "1.1"]
    keep = select_sft(all_traces, SftOptions(top_k=3, drop_code_errors=False))
    assert [path_str(t.leaf.path) for t in keep] == ["5.0.0", "0.0", "0.1"]
    assert (top[1].mean_q, top[1].min_q) == pytest.approx((2 / 3, 1 / 3))
    assert len(select_sft(all_traces, SftOptions())) == 2  # rStar-Math keeps 2


@pytest.mark.parametrize("cls, field, value, message", [
    (PpmOptions, "per_side", 0, "per_side must be >= 1"),
    (SftOptions, "top_k", 0, "top_k must be >= 1"),
    (SolutionOptions, "min_edit_distance", -1, "min_edit_distance must be >= 0"),
])
def test_options_reject_bad_values(cls, field, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{field: value})
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
