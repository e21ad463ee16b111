"""The in-process layers, with a fake symbolic layer so no worker is involved."""

from __future__ import annotations

import time

import pytest

from transforms.verify import VerifyOptions
from transforms.verify.compare import Comparer, Outcome


class FakeSymbolic:
    """Records what reaches the symbolic layer and answers from a table (default: undecided)."""

    def __init__(self, answers: dict | None = None):
        self.answers = answers or {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, pred: str, gold: str, left: float) -> Outcome:
        self.calls.append((pred, gold))
        equal = self.answers.get((pred, gold))
        return Outcome(equal, "symbolic" if equal is not None else "undecided")


def compare(pred, gold, symbolic=None, **options):
    comparer = Comparer(VerifyOptions(**options), symbolic or FakeSymbolic(), time.monotonic() + 5)
    return comparer.compare(pred, gold)


def test_string_layer_first():
    fake = FakeSymbolic()
    assert compare("x+1", "x + 1", fake) == Outcome(True, "string")
    assert fake.calls == []


def test_numeric_layer_decides_without_sympy():
    fake = FakeSymbolic()
    assert compare("0.5", "\\frac{1}{2}", fake) == Outcome(True, "numeric")
    assert compare("5.001", "5", fake) == Outcome(False, "numeric")
    assert fake.calls == []


def test_symbolic_layer_last():
    fake = FakeSymbolic({("\\sqrt{4}", "2"): True})
    assert compare("\\sqrt{4}", "2", fake) == Outcome(True, "symbolic")
    assert fake.calls == [("\\sqrt{4}", "2")]


def test_no_symbolic_layer_means_undecided():
    comparer = Comparer(VerifyOptions(symbolic=False), FakeSymbolic(), time.monotonic() + 5)
    assert comparer.compare("\\sqrt{4}", "2").equal is None


def test_expired_deadline_is_a_timeout():
    comparer = Comparer(VerifyOptions(), FakeSymbolic(), time.monotonic() - 1)
    assert comparer.compare("\\sqrt{4}", "2") == Outcome(None, "timeout")


@pytest.mark.parametrize(
    ("pred", "gold"),
    [("x = 3", "3"), ("3", "x=3"), ("y = 2x+1", "2x+1"), ("f(x) = x^2", "x^2"), ("|AB| = 1", "1"),
     ("(p, q) = (3, 2)", "(3, 2)"), ("\\frac{1}{2} = \\frac{10}{9}", "\\frac{10}{9}"), ("y = 5", "y=5.0")],
)
def test_equation_rhs_rule(pred, gold):
    assert compare(pred, gold).equal is True


def test_equation_rhs_rule_can_be_disabled():
    assert compare("x = 3", "3", equation_rhs=False).equal is not True


def test_non_label_equation_is_not_its_rhs():
    """``2x+4y-3=0`` is not the answer ``0``: an equation (no label to drop) is never a number,
    decided without sympy."""
    fake = FakeSymbolic()
    outcome = compare("2x+4y-3=0", "0", fake)
    assert outcome.equal is False and outcome.method == "structure"
    assert not fake.calls


def test_kinds_refute_without_sympy():
    """A number is never a matrix, an interval or a word; two intervals go to sympy."""
    fake = FakeSymbolic()
    assert compare("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "3", fake).equal is False
    assert compare("[4,\\infty)", "2838", fake).equal is False
    assert compare("(1,2) \\cup (3,4)", "7", fake).equal is False
    assert compare("Wednesday", "1", fake).equal is False
    assert compare("3x(3x+1)", "2", fake).equal is False  # an expression in x is not a number
    assert compare("10m", "10", fake).equal is False
    assert not fake.calls
    compare("x > 2", "(2, \\infty)", fake)  # a relation is a set: sympy decides
    compare("2e", "5.436", fake)  # e is a constant
    assert len(fake.calls) == 2
    compare("[4,\\infty)", "(4, \\infty)", fake)
    assert fake.calls


def test_lists_unordered_by_default_and_ordered_as_option():
    assert compare("3, 1, 2", "1, 2, 3").equal is True
    assert compare("3, 1, 2", "1, 2, 3", unordered_lists=False).equal is False
    assert compare("1, 2, 3", "1, 2, 3", unordered_lists=False).equal is True


def test_sets_are_always_unordered():
    assert compare("\\{3, 1\\}", "\\{1, 3\\}", unordered_lists=False).equal is True


def test_multiset_counts_matter():
    assert compare("1, 1, 2", "1, 2, 2").equal is False
    assert compare("1, 2", "1, 2, 3") == Outcome(False, "structure", {})


def test_tuples_ordered_by_default():
    assert compare("(2, 1)", "(1, 2)").equal is False
    assert compare("(2, 1)", "(1, 2)", ordered_tuples=False).equal is True


def test_list_against_scalar_uses_set_semantics():
    """{a, a'} = {g} when every item equals g (two boxed forms of one answer); else not equal."""
    assert compare("20:34, 08:34 \\text{ p.m.}".replace("\\text{ p.m.}", "pm"), "20:34").equal is True
    assert compare("0.5, \\frac{1}{2}", "\\frac{1}{2}") == Outcome(True, "numeric")
    assert compare("1, 9", "9") == Outcome(False, "structure", {})
    assert compare("0.5, 0.5", "0.5", unordered_lists=False).equal is False
    assert compare("(1, 2)", "3").equal is False


def test_tuple_as_set_follows_the_gold_kind():
    """A set of answers written in parentheses counts; a gold point keeps its order."""
    assert compare("(3, 1)", "\\{1, 3\\}").equal is True
    assert compare("(1, 3)", "1, 3").equal is True
    assert compare("1, 3", "(1, 3)").equal is True
    assert compare("3, 2", "(2, 3)").equal is False
    assert compare("1, 2", "(1, 2)", tuple_as_set=False).equal is False


def test_solutions_as_assignments():
    assert compare("(5,2),(7,2)", "p=5,q=2;p=7,q=2").equal is True
    assert compare("(7,2),(5,2)", "p=5,q=2;p=7,q=2").equal is True
    assert compare("x=2, y=3", "(2, 3)").equal is True


def test_list_items_use_all_layers():
    fake = FakeSymbolic({("\\sqrt{9}", "3"): True})
    outcome = compare("\\sqrt{9}, 0.5", "\\frac{1}{2}, 3", fake)
    assert outcome == Outcome(True, "symbolic")


def test_undecided_item_makes_list_undecided_unless_another_is_false():
    assert compare("\\sqrt{9}, 1", "3, 1").equal is None
    assert compare("\\sqrt{9}, 2", "3, 1", unordered_lists=False).equal is False


def test_decimal_comma_only_against_single_number_gold():
    assert compare("1000,99", "1000.99").equal is True
    assert compare("1, 99", "1.99").equal is not True
    assert compare("1,99", "1, 99").equal is True  # gold is a list: read as a list


def test_percent_against_fraction():
    assert compare("0.1", "10\\%".replace("\\", "")).equal is True
    assert compare("0.1", "10%", percent_as_fraction=False).equal is False


def test_empty_prediction():
    assert compare("", "3") == Outcome(None, "no_answer")
