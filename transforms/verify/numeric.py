"""Exact numeric layer: plain number literals parsed to ``Fraction`` and compared in-process.

Only literals are read (ints, decimals, ``a/b``, ``\\frac{a}{b}``, mixed numbers, scientific
notation, percents), with size caps, so this layer can never hang: ``10^{10^{10}}`` is not a
literal and goes to the (sandboxed) symbolic layer instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from transforms.verify.options import VerifyOptions

_MAX_DIGITS = 200  # longer literals go to the symbolic layer (and Python's int-str limit is 4300)
_MAX_EXPONENT = 400  # 10**400 is cheap as a Fraction; 1e999999999 is not

_DEC = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(rf"^([+-]?){_DEC}(?:[eE][+-]?\d+)?$")
_SCI_LATEX = re.compile(rf"^([+-]?{_DEC})(?:\\times|\\cdot|\*|×)10\^(?:\{{([+-]?\d+)\}}|([+-]?\d))$")
_SLASH = re.compile(rf"^([+-]?{_DEC})/({_DEC})$")
_FRAC = re.compile(rf"^([+-]?)\\frac\{{([+-]?{_DEC})\}}\{{([+-]?{_DEC})\}}$")
_REPEATING = re.compile(r"^([+-]?)(\d{0,60})\.(\d{0,60})\\overline\{(\d{1,60})\}$")
_MIXED_SLASH = re.compile(r"^([+-]?)(\d{1,6})\s+(\d{1,6})/(\d{1,6})$")
_MIXED = re.compile(r"^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$")


@dataclass(frozen=True)
class Number:
    """A literal number: exact ``value`` as written (without the percent), its ``percent`` sign,
    and ``decimals``: digits after the decimal point (0 for integers, None for fractions)."""

    value: Fraction
    percent: bool = False
    decimals: int | None = 0


def parse_number(text: str) -> Number | None:
    """Parse a normalized answer that is a single number literal; None for anything else."""
    spaced = _MIXED_SLASH.match(text.strip())
    if spaced is not None:  # "7 3/4" is seven and three quarters (MARIO_EVAL), read before spaces go
        sign = -1 if spaced.group(1) == "-" else 1
        if int(spaced.group(4)) == 0:
            return None
        return Number(sign * (int(spaced.group(2)) + Fraction(int(spaced.group(3)), int(spaced.group(4)))), decimals=None)
    s = text.replace(" ", "")
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    if not s or sum(ch.isdigit() for ch in s) > _MAX_DIGITS:
        return None
    parsed = _parse_literal(s)
    if parsed is None:
        return None
    value, decimals = parsed
    return Number(value=value, percent=percent, decimals=decimals)


def _parse_literal(s: str) -> tuple[Fraction, int | None] | None:
    """Value and decimal count of ``s``, trying each literal form in turn."""
    if _PLAIN.match(s):
        return _decimal(s)
    m = _SCI_LATEX.match(s)
    if m is not None:
        exponent = m.group(2) or m.group(3)
        return _decimal(f"{m.group(1)}e{exponent}")
    m = _SLASH.match(s) or _FRAC.match(s)
    if m is not None:
        groups = m.groups()
        sign = -1 if (len(groups) == 3 and groups[0] == "-") else 1
        num, den = (_decimal(groups[-2]), _decimal(groups[-1]))
        if num is None or den is None or den[0] == 0:
            return None
        return sign * num[0] / den[0], None
    m = _REPEATING.match(s)
    if m is not None:  # 0.1\overline{6} = 1/6: the repetend's digits over 9...9
        sign = -1 if m.group(1) == "-" else 1
        whole, fixed, repetend = m.group(2) or "0", m.group(3), m.group(4)
        value = int(whole) + Fraction(int(fixed or "0"), 10 ** len(fixed))
        value += Fraction(int(repetend), 10 ** len(fixed) * (10 ** len(repetend) - 1))
        return sign * value, None
    m = _MIXED.match(s)
    if m is not None:  # MATH answers write mixed numbers as 2\frac{1}{2} = 5/2
        sign = -1 if m.group(1) == "-" else 1
        whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if den == 0:
            return None
        return sign * (whole + Fraction(num, den)), None
    return None


def _decimal(s: str) -> tuple[Fraction, int] | None:
    """Exact value of a decimal literal (scientific notation allowed) and its fractional digits."""
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d.as_tuple().exponent) > _MAX_EXPONENT + _MAX_DIGITS:
        return None
    exponent = d.adjusted()
    if abs(exponent) > _MAX_EXPONENT:
        return None
    mantissa = s.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if "e" in s.lower():
        return Fraction(d), None  # 1.5e3 shows no absolute precision for the approximation rule
    return Fraction(d), decimals


def numbers_equal(pred: Number, gold: Number, options: VerifyOptions) -> bool:
    """Compare two literals under the percent and approximation conventions.

    A percent sign may always be dropped (hendrycks strips ``\\%``: ``10\\%`` == ``10``); with
    ``percent_as_fraction`` it may also be read as /100 (MARIO_EVAL: ``10\\%`` == ``0.1``).
    """
    golds = _percent_readings(gold, options)
    return any(_close(p, g, options) for p in _percent_readings(pred, options) for g in golds)


def _percent_readings(number: Number, options: VerifyOptions) -> list[Number]:
    """The values a literal may stand for: as written, and /100 when it carries a percent."""
    if not (number.percent and options.percent_as_fraction):
        return [number]
    decimals = None if number.decimals is None else number.decimals + 2
    return [number, Number(number.value / 100, percent=False, decimals=decimals)]


def _close(pred: Number, gold: Number, options: VerifyOptions) -> bool:
    """Exact equality, or the decimal-approximation rule when the options allow it here."""
    if pred.value == gold.value:
        return True
    if may_approximate(pred.value, pred.decimals, gold.value, options.decimal_approx, options.approx_digits):
        return approximates(pred.value, pred.decimals, gold.value)
    return False


def may_approximate(pred: Fraction, decimals: int | None, gold: Fraction | None, mode: str, min_digits: int) -> bool:
    """Whether a decimal ``pred`` showing ``decimals`` places may stand for ``gold`` rounded.

    ``gold`` is the exact value when it is rational, None when it is irrational. Under ``"inexact"``
    only a gold without a finite decimal form (irrational, or a denominator with a prime other than
    2 and 5) can be approximated, and the prediction must show ``min_digits`` significant digits.
    """
    if mode == "off" or not decimals:
        return False
    if mode == "any":
        return decimals >= 2
    if gold is not None and _finite_decimal(gold):
        return False
    return len(str(abs(math.trunc(pred * 10**decimals)))) >= min_digits


def _finite_decimal(value: Fraction) -> bool:
    """True when ``value`` has a terminating decimal expansion (denominator 2^a 5^b)."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    return den == 1


def approximates(pred: Fraction, decimals: int, gold: Fraction | float) -> bool:
    """True when ``pred`` is ``gold`` rounded (half away from zero) or truncated to ``decimals``
    places: MARIO_EVAL-style leniency stated as a digit rule rather than a fixed tolerance."""
    scale = 10**decimals
    scaled = Fraction(gold) * scale
    truncated = math.trunc(scaled)
    rounded = math.floor(abs(scaled) + Fraction(1, 2)) * (1 if scaled >= 0 else -1)
    return pred * scale in (truncated, rounded)
