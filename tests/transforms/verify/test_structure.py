"""String-level structure: equations with labels, lists, sets, tuples."""

from __future__ import annotations

import pytest

from transforms.verify.structure import Group, is_label, parse_group, split_equation, strip_assignment


@pytest.mark.parametrize("lhs", ["x", "f(x)", "|AB|", "(p, q)", "\\angle ABC", "a_{12}", "x_1", "m\\angle A"])
def test_labels(lhs):
    assert is_label(lhs)


@pytest.mark.parametrize("lhs", ["2x+4y-3", "x^2", "1/2", "3", "x+y", "\\frac{x}{2}"])
def test_not_labels(lhs):
    assert not is_label(lhs)


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("x = 3", "3"),
        ("y=2x+1", "2x+1"),
        ("\\frac{1}{2} = \\frac{10}{9}", "\\frac{10}{9}"),  # arithmetic chain: its value
        ("a = b = 7", "7"),
        ("x \\in [0, 7)", "[0, 7)"),
        ("2x+4y-3=0", "2x+4y-3=0"),
        ("x \\leq 3", "x \\leq 3"),
    ],
)
def test_strip_assignment(text, stripped):
    assert strip_assignment(text) == stripped


def test_several_assignments_are_not_one_chain():
    assert split_equation("p=5, q=2") is None


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("1, 2, 3", Group("list", ("1", "2", "3"))),
        ("1 and 2 or 3", Group("list", ("1", "2", "3"))),
        ("\\{x - 1, x\\}", Group("set", ("x - 1", "x"))),
        ("(3, 2)", Group("tuple", ("3", "2"))),
        ("[1, 2]", Group("bracket", ("1", "2"))),
        ("x=2, y=3", Group("tuple", ("2", "3"))),
        ("x=2 or x=3", Group("list", ("2", "3"))),
        ("p=5,q=2;p=7,q=2", Group("list", ("(5, 2)", "(7, 2)"))),
        ("(1,2),(3,4)", Group("list", ("(1,2)", "(3,4)"))),
    ],
)
def test_groups(text, group):
    assert parse_group(text) == group


@pytest.mark.parametrize("text", ["(2,12) \\cup (12,102)", "[0, 7)", "f(x, y)", "x^2+1", "(1)(2)", "\\{1\\}"])
def test_atoms(text):
    group = parse_group(text)
    assert group is None or (text == "\\{1\\}" and group.kind == "set")
