"""Pair rules and the SFT selection on the hand trees, with every expected pair worked out by hand.

Rule Q (p1: best-of-n, Q from terminal rewards; p2: mcts-rstar, its stored Q):
  p1:  A 0, B 0, C -1, D -1, E -1, F 1;  A0 1, A1 none (code failed: left out), A2 -1;  B0 -1, B1 1;
       F0 1, F00 1;  C0 D0 E0 -1.
  p2:  X 0.3, Y 0.0, Z -0.9, W -0.8, V -0.7; leaves +-1.
Character edits between step texts (Levenshtein): root F-C 23, F-D 22, A-C 23, A-D 2; A0-A2 16;
B1-B0 18; p2 X-Y 26, X-Z 20, X-W 24, X-V 19.
"""

import dataclasses

import pytest

from tests.transforms.labels.hand_trees import tree_p1, tree_p2
from transforms.labels.options import PpmOptions, SftOptions, SiblingOptions, SolutionOptions, StepOptions
from transforms.labels.outcomes import excluded, subtree_outcomes
from transforms.labels.pairs import continuation_mean_q, edit_distance, ppm_pairs, sibling_pairs, solution_pairs
from transforms.labels.traces import select_sft, traces
from transforms.labels.values import rule_q
from transforms.protocols import Verdict
from transforms.search.tree import Tree, path_str

OK, BAD = Verdict(True, "numeric", "1"), Verdict(False, "numeric", "2")


def _setup(tree, rules=StepOptions()):
    outcomes, left_out = subtree_outcomes(tree, rules), excluded(tree, rules)
    trust = tree.problem_id != "p1"  # p1 is stored as best-of-n; p2 and the trees below as mcts-rstar
    q = {n.path: rule_q(n, outcomes[n.path], trust, n.path in left_out) for n in tree.nodes()}
    return outcomes, q


def _names(pairs):
    """(branch path, chosen path, rejected path) of each pair."""
    return [(path_str(p.branch.path), path_str(p.chosen.path), path_str(p.rejected.path)) for p in pairs]


def _with_q(parent, text, q, verdict=None):
    """A step with a stored rStar-style Q (one visit, W = Q)."""
    return parent.add_child(text, "answer" if verdict else "text", is_terminal=verdict is not None, verdict=verdict,
                            visits=1, value_sum=q)


def test_edit_distance_is_levenshtein_up_to_the_cap():
    assert edit_distance("kitten", "sitting", 10) == 3  # k->s, e->i, +g
    assert edit_distance("kitten", "sitting", 2) == 2  # capped
    assert edit_distance("", "abc", 10) == 3 and edit_distance("same", "same", 10) == 0
    assert edit_distance("a" * 500, "b" * 500, 8) == 8  # stops early: no row stays below the cap
    assert edit_distance("Adding the numbers: 2 + 3 = 5.", "Adding the numbers: 2 + 3 = 6!", 64) == 2


def test_ppm_pairs_on_p1_by_hand():
    """rStar-Math §3.3 with the released code's filters (extra_rm_file.py, train/sample_rm_data.py):
    margin >= 0.5, edit distance >= 20, best continuation of the positive averaging above the
    negative's worst one."""
    tree = tree_p1()
    outcomes, q = _setup(tree)
    pairs = ppm_pairs(tree, outcomes, q, PpmOptions())
    # root: positives (lead to a correct answer) by Q: F 1, A 0 (B 0 is third: dropped);
    #   negatives (only wrong below) by Q: C -1, D -1 (E -1 is third; ties go by path).
    #   F-C (23 edits), F-D (22), A-C (23) pass; A-D is dropped: the step texts are 2 edits apart (< 20).
    #   Continuations: F -> F0 -> F00 mean 1; A -> A0 mean 1/2; C -> C0 and D -> D0 mean -1: all pass.
    # A: A0 vs A2 (A1's code failed: neither side) is 16 edits apart; B: B1 vs B0 18: both dropped.
    assert _names(pairs) == [("", "5", "2"), ("", "5", "3"), ("", "0", "2")]
    assert [(p.pos_count, p.neg_count) for p in pairs] == [(2, 2)] * 3
    # Margins: F-C = 1 - (-1) = 2; A-C = 0 + 1 = 1.
    assert [p.margin for p in pairs] == pytest.approx([2, 2, 1])
    assert pairs[2].chosen_text == "Adding the numbers: 2 + 3 = 5." and pairs[2].branch.steps() == ()
    # treemill's former edit minimum of 5 lets the leaf pairs through: A0-A2 (1 x 1: A1 is no
    # candidate) and B1-B0; 0 lets A-D through as well.
    loose = ppm_pairs(tree, outcomes, q, PpmOptions(min_edit_distance=5))
    assert _names(loose)[3:] == [("0", "0.0", "0.2"), ("1", "1.1", "1.0")]
    assert [(p.pos_count, p.neg_count) for p in loose[3:]] == [(1, 1), (1, 1)]
    assert loose[3].branch.steps() == ("Adding the numbers: 2 + 3 = 5.",)
    assert len(ppm_pairs(tree, outcomes, q, PpmOptions(min_edit_distance=0))) == 6


def test_ppm_pairs_on_p2_use_stored_q_margin_and_one_side_up_to_four():
    tree = tree_p2()
    outcomes, q = _setup(tree)
    pairs = ppm_pairs(tree, outcomes, q, PpmOptions())
    # One positive (X 0.3) -> negatives may take 4: Z -0.9, W -0.8, V -0.7, Y 0.0 (lowest Q first).
    # X-Z (margin 1.2, 20 edits) and X-W (1.1, 24) pass; X-V (1.0) is 19 edits apart; X-Y = 0.3 < 0.5.
    # With terminal Q, Y would be -1 (margin 1.3): the stored rStar Q decides.
    assert _names(pairs) == [("", "0", "2"), ("", "0", "3")]
    assert [p.margin for p in pairs] == pytest.approx([1.2, 1.1])
    assert {(p.pos_count, p.neg_count) for p in pairs} == {(1, 4)}
    # Every rule is an option: per-side 1 without the widening keeps only the lowest negative, Z.
    narrow = ppm_pairs(tree, outcomes, q, PpmOptions(per_side=1, single_side_max=1))
    assert _names(narrow) == [("", "0", "2")] and narrow[0].neg_count == 1
    # A margin of 0.2 and no edit minimum let X-V and X-Y through.
    assert len(ppm_pairs(tree, outcomes, q, PpmOptions(min_margin=0.2, min_edit_distance=0))) == 4


def test_ppm_continuation_check_as_released():
    """rStar-Math released code (extra_rm_file.build_partial_solution): the positive's best
    continuation (highest-Q child leading to a correct answer, to a leaf) must average a higher Q
    than the negative's worst one (lowest-Q child leading to a wrong answer).

    root -> P (Q 0.3) -> P1 (-0.95) -> P2 (-0.95) -> P3 correct (1):  mean (0.3 - 1.9 + 1) / 4 = -0.15
         -> N (Q -0.2) -> N1 (0.9)  -> N2 (0.9)   -> N3 wrong (-1):   mean (-0.2 + 1.8 - 1) / 4 = 0.15
    Step margin 0.3 - (-0.2) = 0.5 passes, but -0.15 < 0.15: no pair (with the check off: one pair).
    """
    tree = Tree("cont", "q", "1")
    p = _with_q(_with_q(_with_q(tree.root, "P: positive step text, quite long", 0.3), "P1", -0.95), "P2", -0.95)
    _with_q(p, "P3", 1.0, OK)
    n = _with_q(_with_q(_with_q(tree.root, "N: a different negative step", -0.2), "N1", 0.9), "N2", 0.9)
    _with_q(n, "N3", -1.0, BAD)
    outcomes, q = _setup(tree)
    assert continuation_mean_q(tree.root.children[0], outcomes, q, best=True) == pytest.approx(-0.15)
    assert continuation_mean_q(tree.root.children[1], outcomes, q, best=False) == pytest.approx(0.15)
    assert ppm_pairs(tree, outcomes, q, PpmOptions()) == []
    [pair] = ppm_pairs(tree, outcomes, q, PpmOptions(continuation_check=False))
    assert _names([pair]) == [("", "0", "1")] and pair.margin == pytest.approx(0.5)


def test_ppm_negatives_only_wrong_or_any_wrong():
    """A child with both a correct and a wrong completion below is a negative only under
    negatives=any_wrong (released code: ``final_wrong > 0``); the paper's default asks that it lead
    to wrong answers only.

    root -> G (Q 0.8) -> G0 correct (1)
         -> M (Q -0.4) -> M0 correct (1), M1 wrong (-1)
         -> L (Q -0.6) -> L0 wrong (-1)
    only_wrong: positives G, M; negatives L -> G-L, M-L (margins 1.4, 0.2 < 0.5: dropped) -> [G-L].
    any_wrong: negatives L (-0.6), M (-0.4) -> G-L, G-M (1.2; continuations G 0.9 vs M -> M1 -0.7).
    """
    tree = Tree("neg", "q", "1")
    _with_q(_with_q(tree.root, "G: the good first step of the solution", 0.8), "G0", 1.0, OK)
    m = _with_q(tree.root, "M: a mixed step, sometimes it works", -0.4)
    _with_q(m, "M0", 1.0, OK)
    _with_q(m, "M1", -1.0, BAD)
    _with_q(_with_q(tree.root, "L: a step that only leads astray", -0.6), "L0", -1.0, BAD)
    outcomes, q = _setup(tree)
    assert _names(ppm_pairs(tree, outcomes, q, PpmOptions())) == [("", "0", "2")]
    released = ppm_pairs(tree, outcomes, q, PpmOptions(negatives="any_wrong"))
    assert _names(released)[:2] == [("", "0", "2"), ("", "0", "1")]
    assert [p.margin for p in released[:2]] == pytest.approx([1.4, 1.2])
    # M also has a correct and a wrong completion: its own pair M0-M1 (edit distance 1 < 20: dropped).
    assert len(released) == 2


def test_sibling_pairs_take_highest_vs_lowest_child():
    p1, p2 = tree_p1(), tree_p2()
    # p1 root: best F (1), worst C (-1, first of C, D, E); A: A0 vs A2 (A1 has no Q); B: B1 vs B0.
    assert _names(sibling_pairs(p1, _setup(p1)[1], SiblingOptions())) == [("", "5", "2"), ("0", "0.0", "0.2"), ("1", "1.1", "1.0")]
    # p2 root: X (0.3) vs Z (-0.9), margin 1.2.
    [pair] = sibling_pairs(p2, _setup(p2)[1], SiblingOptions())
    assert _names([pair]) == [("", "0", "2")] and pair.margin == pytest.approx(1.2)
    assert sibling_pairs(p2, _setup(p2)[1], SiblingOptions(min_margin=1.5)) == []


def test_solution_pairs_rstar_final_step_rule():
    """rStar-Math §3.3, final answer step: the 2 correct trajectories with the highest average Q
    vs the 2 incorrect ones with the lowest, every combination (2 x 2 = 4 pairs, weight 1/4)."""
    tree = tree_p1()
    outcomes, q = _setup(tree)
    pairs = solution_pairs(tree, traces(tree, q), SolutionOptions())
    # Correct traces by (mean Q, min Q): F00 (1, 1), A0 (1/2, 0), B1 (1/2, 0); A1 is left out (code failed).
    # Wrong traces worst first: C0 (-1), D0 (-1), E0 (-1), A2 (-1/2), B0 (-1/2).
    assert _names(pairs) == [("", "5.0.0", "2.0"), ("", "5.0.0", "3.0"), ("", "0.0", "2.0"), ("", "0.0", "3.0")]
    assert [p.margin for p in pairs] == pytest.approx([2, 2, 1.5, 1.5])
    assert {(p.pos_count, p.neg_count) for p in pairs} == {(2, 2)}
    assert pairs[0].chosen_text == "First, 2 + 3.\n\nThat equals 5.\n\n\\boxed{5}"
    # p2 has one correct trace: X0 (mean 0.65) vs Z0 (-0.95) and W0 (-0.9): margins 1.6, 1.55, weight 1/2.
    p2 = tree_p2()
    pairs2 = solution_pairs(p2, traces(p2, _setup(p2)[1]), SolutionOptions())
    assert _names(pairs2) == [("", "0.0", "2.0"), ("", "0.0", "3.0")]
    assert [p.margin for p in pairs2] == pytest.approx([1.6, 1.55]) and pairs2[0].neg_count == 2


def test_solution_pairs_ranked_mode():
    tree = tree_p1()
    outcomes, q = _setup(tree)
    ranked = SolutionOptions(mode="ranked")
    pairs = solution_pairs(tree, traces(tree, q), ranked)
    # Index pairs by rank sum: (0,0) F00-C0, (0,1) F00-D0, (1,0) A0-C0, (0,2) F00-E0.
    assert _names(pairs) == [("", "5.0.0", "2.0"), ("", "5.0.0", "3.0"), ("", "0.0", "2.0"), ("", "5.0.0", "4.0")]
    assert [p.margin for p in pairs] == pytest.approx([2, 2, 1.5, 2]) and pairs[0].pos_count is None
    # Undecided skipped: E0 is neither correct nor wrong, so F00-A2 (mean -1/2, before B0 by path) takes its place.
    skip = StepOptions(undecided="skip")
    skipped = solution_pairs(tree, traces(tree, _setup(tree, skip)[1], skip), ranked)
    assert _names(skipped)[3] == ("", "5.0.0", "0.2")
    assert len(solution_pairs(tree, traces(tree, q), SolutionOptions(mode="ranked", max_pairs=2))) == 2


def test_sft_keeps_top_k_correct_traces():
    """rStar-Math §3.3 (top-2 correct trajectories by average Q); released train/sample_sft_data.py
    sorts by (average Q, min Q): F00 (1, 1), then A0 and B1 tie at (1/2, 0) and go by path."""
    tree = tree_p1()
    _, q = _setup(tree)
    top = select_sft(traces(tree, q), SftOptions(top_k=3))
    assert [path_str(t.leaf.path) for t in top] == ["5.0.0", "0.0", "1.1"]
    assert (top[1].mean_q, top[1].min_q) == (0.5, 0.0)
    assert len(select_sft(traces(tree, q), SftOptions())) == 2  # rStar-Math keeps 2


def test_sft_drops_traces_through_failed_code():
    """root -> X (code failed, not terminal) -> X0 correct;  root -> Y -> Y0 correct.
    By default X's subtree counts nowhere; with code_errors=wrong X0 is a counted correct trace, and
    drop_code_errors (rStar-Math keeps only steps whose code runs) still keeps it out of SFT."""
    tree = Tree("code", "q", "1")
    tree.root.add_child("x", "code", code="1/0", exec_status="error").add_child("\\boxed{1}", "answer", is_terminal=True, verdict=OK)
    tree.root.add_child("y").add_child("\\boxed{1}", "answer", is_terminal=True, verdict=OK)
    for rules, drop, expected in ((StepOptions(), True, ["1.0"]), (StepOptions(code_errors="wrong"), True, ["1.0"]),
                                  (StepOptions(code_errors="wrong"), False, ["0.0", "1.0"])):
        q = _setup(tree, rules)[1]
        kept = select_sft(traces(tree, q, rules), SftOptions(drop_code_errors=drop))
        assert [path_str(t.leaf.path) for t in kept] == expected


@pytest.mark.parametrize("cls, field, value, message", [
    (PpmOptions, "per_side", 0, "per_side must be >= 1"),
    (SftOptions, "top_k", 0, "top_k must be >= 1"),
    (SolutionOptions, "min_edit_distance", -1, "min_edit_distance must be >= 0"),
    (SolutionOptions, "mode", "best", "mode must be one of rstar, ranked"),
    (PpmOptions, "negatives", "some", "negatives must be one of only_wrong, any_wrong"),
    (StepOptions, "code_errors", "drop", "code_errors must be one of skip, wrong"),
])
def test_options_reject_bad_values(cls, field, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{field: value})
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
