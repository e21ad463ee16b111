"""Exact numeric layer: literal parsing, percent and approximation conventions."""

from __future__ import annotations

from fractions import Fraction

import pytest

from transforms.verify import VerifyOptions
from transforms.verify.numeric import numbers_equal, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", Fraction(5)),
        ("-5.25", Fraction(-21, 4)),
        ("0.1", Fraction(1, 10)),
        ("1e3", Fraction(1000)),
        ("2.5E-2", Fraction(1, 40)),
        ("1.5\\times10^{3}", Fraction(1500)),
        ("3\\cdot10^-2", Fraction(3, 100)),
        ("-10/9", Fraction(-10, 9)),
        ("-\\frac{10}{9}", Fraction(-10, 9)),
        ("\\frac{-1}{2}", Fraction(-1, 2)),
        ("\\frac{0.5}{2}", Fraction(1, 4)),
        ("2\\frac{1}{2}", Fraction(5, 2)),
    ],
)
def test_parse_literals(text, value):
    assert parse_number(text).value == value


@pytest.mark.parametrize("text", ["x", "1/0", "\\frac{1}{0}", "1e999999999", "9" * 300, "10^{10^{10}}", "2x", ""])
def test_non_literals_and_huge_values_are_left_to_sympy(text):
    assert parse_number(text) is None


def test_percent_flag():
    number = parse_number("12.5%")
    assert number.percent and number.value == Fraction(25, 2)


def _eq(pred, gold, **kw):
    return numbers_equal(parse_number(pred), parse_number(gold), VerifyOptions(**kw))


def test_exact_comparison_ignores_rel_tol_for_literals():
    assert not _eq("5.001", "5", rel_tol=1e-3)
    assert _eq("5.000", "5")


def test_percent_conventions():
    assert _eq("10", "10%")
    assert _eq("0.1", "10%")
    assert _eq("10%", "0.1")
    assert not _eq("0.1", "10%", percent_as_fraction=False)
    assert _eq("10", "10%", percent_as_fraction=False)


def test_decimal_approximation_rule():
    """"any" (MARIO preset): two decimals suffice for any gold."""
    assert not _eq("0.33", "1/3", decimal_approx="off")
    assert _eq("0.33", "1/3", decimal_approx="any")
    assert _eq("0.333", "1/3", decimal_approx="any")
    assert _eq("0.67", "2/3", decimal_approx="any")  # rounded
    assert _eq("0.66", "2/3", decimal_approx="any")  # truncated
    assert not _eq("0.65", "2/3", decimal_approx="any")
    assert not _eq("0.3", "1/3", decimal_approx="any")  # one decimal is too coarse


def test_inexact_approximation_rule():
    """The default: only a gold with no finite decimal form, with three significant digits shown."""
    assert not _eq("0.33", "1/3")  # two significant digits
    assert _eq("0.333", "1/3") and _eq("0.667", "2/3") and _eq("0.6666", "2/3")
    assert not _eq("12.35", "12.345")  # a terminating gold must be given exactly
    assert not _eq("0.334", "1/3")
    assert not _eq("0.333", "1/3", approx_digits=4)
    assert _eq("0.3333", "1/3", approx_digits=4)


def test_repeating_decimals_are_exact():
    assert parse_number("0.\\overline{3}").value == Fraction(1, 3)
    assert parse_number("0.1\\overline{6}").value == Fraction(1, 6)
    assert parse_number("-2.\\overline{09}").value == Fraction(-23, 11)


def test_spaced_mixed_number():
    assert parse_number("7 3/4").value == Fraction(31, 4)
    assert parse_number("-1 1/2").value == Fraction(-3, 2)
