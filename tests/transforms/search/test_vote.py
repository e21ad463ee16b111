"""Majority vote at k and weighted vote over a stored tree's solutions."""

import pytest

from tests.transforms.search.step_fakes import TableScorer
from transforms.protocols import Verdict
from transforms.search.tree import Tree
from transforms.search.vote import majority_vote, scorer_weights, solutions, weighted_vote


def _tree(answers):
    """One solution per (answer, correct) pair, each a two-step chain under the root, plus an unfinished branch."""
    tree = Tree("p", "q", "5")
    for i, (answer, correct) in enumerate(answers):
        tree.root.add_child(f"s{i}").add_child(f"so {answer}", "answer", is_terminal=True,
                                               verdict=Verdict(correct, "string", answer))
    tree.root.add_child("open")  # not terminal: never a vote
    tree.root.add_child("", is_terminal=True, verdict=Verdict(None, "no_answer"))  # no answer: never a vote
    return tree


def test_majority_vote_at_k():
    tree = _tree([("4", False), ("5", True), ("4", False), (" 5", True), ("5", True)])
    assert len(solutions(tree)) == 5
    at3 = majority_vote(tree, k=3)  # 4, 5, 4 -> 4 (2 of 3)
    assert (at3.answer, at3.correct, at3.support, at3.total, at3.solutions) == ("4", False, 2.0, 3.0, 3)
    full = majority_vote(tree)  # 4 x2, 5 x3 (" 5" groups with "5")
    assert (full.answer, full.correct, full.support) == ("5", True, 3.0)
    tie = majority_vote(tree, k=2)  # 4 and 5 once each: the first seen wins
    assert tie.answer == "4"
    assert majority_vote(Tree("p", "q", "5")).answer is None
    with pytest.raises(ValueError, match="k must be"):
        majority_vote(tree, k=0)


def test_weighted_vote_with_stored_or_scorer_weights():
    tree = _tree([("4", False), ("5", True), ("4", False)])
    leaves = solutions(tree)
    # weights .1 + .3 for "4" = .4 < .9 for "5"
    result = weighted_vote(tree, {leaves[0].path: 0.1, leaves[1].path: 0.9, leaves[2].path: 0.3})
    assert (result.answer, result.correct, result.support, result.total) == ("5", True, 0.9, pytest.approx(1.3))
    for leaf, w in zip(leaves, (0.6, 0.2, 0.6)):
        leaf.value_estimate = w
    assert weighted_vote(tree, lambda n: n.value_estimate).answer == "4"  # 1.2 vs .2
    scorer = TableScorer({leaf.steps(): w for leaf, w in zip(leaves, (0.2, 0.7, 0.2))})
    weights = scorer_weights(tree, scorer, k=3)
    assert len(scorer.calls) == 1 and weighted_vote(tree, weights).answer == "5"  # .7 vs .4
    with pytest.raises(ValueError, match=">= 0"):
        weighted_vote(tree, lambda n: -1.0)
