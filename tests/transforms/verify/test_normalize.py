"""Normalization rules (hendrycks MATH strip_string / math-verify conventions)."""

from __future__ import annotations

import pytest

from transforms.verify.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("\\(x+1\\)", "x+1"),
        ("\\text{5 apples}", "5"),
        ("\\$1,234.50", "1234.50"),
        ("28\\%", "28%"),
        ("28 percent", "28%"),
        ("90^\\circ", "90"),
        ("90^{\\circ}", "90"),
        ("45°", "45"),
        ("\\left( 1, 2 \\right)", "( 1, 2 )"),
        ("1,000,000", "1000000"),
        ("32,\\!349", "32349"),
        ("32{,}349", "32349"),
        ("5.", "5"),
        ("x=3.", "x=3"),
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\frac12", "\\frac{1}{2}"),
        ("\\sqrt2", "\\sqrt{2}"),
        (".5", "0.5"),
        ("5 \\text{ cm}^2", "5"),
        ("12 \\mbox{ inches}", "12"),
        ("08:34 \\text{P.M.}", "20:34"),
        ("12:05 am", "00:05"),
        ("4\\!:\\!51\\!:\\!06 \\text{ p.m.}", "16:51:06"),
        ("\\frac\\pi 2", "\\frac{\\pi}{2}"),
        ("\\begin{pmatrix} 1 \\\\ \\phantom -1 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 1 \\end{pmatrix}"),
        ("{x, x - 1}", "\\{x, x - 1\\}"),
        ("x^{2}", "x^2"),
        ("a\\!b\\,c\\quad d", "ab c d"),
    ],
)
def test_normalize(raw, text):
    assert normalize(raw).text == text


def test_pairs_are_not_thousands():
    """``(12,102)`` is a pair: the thousands rule does not fire next to brackets."""
    assert normalize("(2,12) \\cup (12,102)").text == "(2,12) \\cup (12,102)"


def test_list_with_space_is_not_a_number():
    assert normalize("1, 000").text == "1, 000"


def test_units_kept_when_nothing_else_remains():
    """A bare unit word is an answer in its own right (e.g. a direction)."""
    assert normalize("\\text{east}").text == "east"
    assert normalize("m").text == "m"


@pytest.mark.parametrize("expr", ["2 + m", "x m", "a + s", "n - h"])
def test_unit_letters_inside_expressions_stay(expr):
    assert normalize(expr).text == expr


def test_units_can_be_kept():
    assert normalize("5 cm", strip_units=False).text == "5 cm"


def test_key_drops_spaces():
    assert normalize("x + 1").key == "x+1"
