"""Answer-string normalization: cheap, in-process rewrites applied before any comparison.

The rules follow hendrycks MATH's ``strip_string`` (drop ``\\left``/``\\right``, ``\\$``, units, degree
signs, ``\\frac12`` -> ``\\frac{1}{2}``, leading ``0`` for ``.5``) and math-verify's thousands handling
(``32,\\!349`` and ``1,000`` are numbers; ``1, 000`` with a space is a list). Everything here is
linear-time string work; nothing evaluates mathematics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.verify.latex import replace_command_groups, strip_outer

# Commands whose argument is prose or formatting: keep the content, drop the command.
_TEXT_COMMANDS = r"\\(?:text|textbf|textit|textrm|texttt|textnormal|mathrm|mathbf|mathit|mbox|hbox|emph)"
_SPACING = re.compile(r"(?<!\\)\\(?:quad|qquad|[,;:! ]|enspace|thinspace)|~")  # not the 2nd \ of a \\ row break
_SIZING = re.compile(r"\\(?:left|right|middle|[bB]igg?[lrm]?)(?![a-zA-Z])\.?")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])|\\circ(?![a-zA-Z])")
_THOUSANDS_LATEX = re.compile(r"(\d)\s*(?:\{,\}|,\s*\\!)\s*(?=\d{3})")
# Not right after "(" or "[" nor right before ")" or "]": "(12,102)" is a pair, not 12102.
_THOUSANDS = re.compile(r"(?<![\d.,(\[])\d{1,3}(?:,\d{3})+(?![\d,)\]])(?:\.\d+)?(?![)\]])")
# Stripped with str.rstrip (a regex "[...]+$" is quadratic on long runs); not "!": 5! is a factorial.
_TRAILING_PUNCT = " \t\n.;,:?"
# MATH's _fix_fracs: \frac12 -> \frac{1}{2}, \frac\pi 2 -> \frac{\pi}{2} (one token per argument).
_FRAC_SHORT = re.compile(r"\\frac\s*(\\[a-zA-Z]+|\w)\s*(\\[a-zA-Z]+|\w)")
_FRAC_SHORT_ARG = re.compile(r"\\frac\s*\{([^{}]*)\}\s*(\d)")  # \frac{1}2
_SQRT_SHORT = re.compile(r"\\sqrt\s*(\w)")  # MATH: \sqrt2 -> \sqrt{2}
_SINGLE_SCRIPT = re.compile(r"([\^_])\{(\w)\}")  # x^{2} -> x^2 (display form only)
_LEADING_DOT = re.compile(r"(?<![\d\w}])\.(\d)")  # .5 -> 0.5 (MATH strip_string)
_PERCENT = re.compile(r"(?:\\%|%|\\percent\b|\bpercent\b)$")  # matched on the right-stripped tail
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2})(:\d{2})?\s*(?:([ap])\.?\s*m\.?)?|\s*([ap])\.?\s*m\.?)$", re.IGNORECASE)
_SCALE_WORDS = re.compile(r"(\d)\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_SCALE_EXPONENT = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_SET_BUILDER = re.compile(r"^\\\{\s*[a-zA-Z]\s*(?:\||\\mid|:)\s*(.+?)\s*\\\}$")
_PYTHON_POWER = re.compile(r"\*\*")
_INFINITY = re.compile(r"\boo\b|\binf(?:inity)?\b|∞")
_PHANTOM = re.compile(r"\\phantom\s*(?:\{[^{}]*\}|\\[a-zA-Z]+|.)")  # invisible: spacing only
_EMPTY_SET = re.compile(r"\\varnothing(?![a-zA-Z])|\\\{\s*\\\}|\\O(?![a-zA-Z])")
# Unicode a model may print instead of LaTeX (padded with spaces where a command needs them).
_UNICODE_MATH = str.maketrans({"−": "-", "–": "-", "×": " \\times ", "·": " \\cdot ", "÷": " \\div ",
                               "√": "\\sqrt", "π": "\\pi ", "∞": "\\infty ", "≤": " \\leq ", "≥": " \\geq ",
                               "≠": " \\neq ", "²": "^2", "³": "^3", "∪": " \\cup ", "∩": " \\cap ", "∈": " \\in "})
_SEGMENT = re.compile(r"\\overline\s*\{\s*([A-Za-z]{1,3})\s*\}")
_DOLLAR_WORDS = re.compile(r"\s*\b(?:dollars?|cents?|usd)\b\s*$", re.IGNORECASE)

# Units MATH/GSM8K answers carry (the list follows MATH's strip_string removal of \text{ units} and
# common words). Matched only as whole trailing words right after a number, "}" or ")", optionally
# squared/cubed, so "2 + m" or "x m" keep their letters.
_UNIT_WORDS = (
    "mm cm m km in inch inches ft foot feet yd yard yards mi mile miles mph kph kmh "
    "mg g kg gram grams kilogram kilograms lb lbs pound pounds oz ounce ounces ton tons "
    "s sec secs second seconds min mins minute minutes h hr hrs hour hours day days week weeks "
    "month months year years ml l liter liters litre litres gal gallon gallons "
    "meter meters metre metres centimeter centimeters millimeter millimeters kilometer kilometers "
    "unit units sq square cubic degree degrees deg radian radians dollar dollars cent cents "
    "points point"
).split()
_UNITS = "|".join(sorted(_UNIT_WORDS, key=len, reverse=True))
_UNIT_TAIL_BODY = r"(?:(?:" + _UNITS + r")\b(?:\s*(?:\^\s*\{?[23]\}?|²|³))?\s*)+$"
# Spaced: "10 m", "5 cm^2", "10 \text{m}" (\text content is padded with spaces). Glued: also "10m".
_UNIT_TAIL = {False: re.compile(r"(?<=[\d})])\s+" + _UNIT_TAIL_BODY, re.IGNORECASE),
              True: re.compile(r"(?<=[\d})])\s*" + _UNIT_TAIL_BODY, re.IGNORECASE)}
_WORD_TAIL = {False: re.compile(r"^(.*?\d)\s+(?:[A-Za-z]{2,}\b\.?\s*)+$"),  # "12 apples", "5 cm each"
              True: re.compile(r"^(.*?\d)\s*(?:[A-Za-z]{2,}\b\.?\s*)+$")}
_MAX_UNIT_LEN = 200
_NUMBERISH = re.compile(r"^[+-]?(?:\d[\d.]*|\\frac\{\d+\}\{\d+\}|\d*\.\d+)%?$")


@dataclass(frozen=True)
class Normalized:
    """A normalized answer: ``text`` keeps single spaces (for parsing), ``key`` drops them (for equality)."""

    text: str
    key: str


def normalize(answer: str, strip_units: bool = True, glued_units: bool = False) -> Normalized:
    """Normalize one answer string (already extracted) for comparison.

    Order matters: ``\\text{P.M.}`` is unwrapped before times are read, thousands separators are
    removed before anything splits on commas, units go before trailing punctuation.
    """
    s = answer.strip().translate(_UNICODE_MATH)
    s = _strip_math_delimiters(s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\displaystyle", " ")
    s = replace_command_groups(s, _TEXT_COMMANDS)
    s = _SEGMENT.sub(r"\1", s)  # \overline{AB} is the segment AB; \overline{3} (a repetend) stays
    s = _SPACING.sub(lambda m: m.group(0) if m.group(0) == "\\!" else " ", s)
    s = _THOUSANDS_LATEX.sub(r"\1", s)
    s = s.replace("\\!", "")
    s = _SIZING.sub("", s)
    s = _PHANTOM.sub("", s)
    s = _DEGREES.sub("", s)
    s = _EMPTY_SET.sub(r"\\emptyset", s)
    s = _INFINITY.sub(r"\\infty", s)
    s = _PYTHON_POWER.sub("^", s)  # x**3 (code-style answers) is x^3
    s = _SCALE_WORDS.sub(lambda m: f"{m.group(1)}\\times10^{{{_SCALE_EXPONENT[m.group(2).lower()]}}}", s)
    s = s.replace("\\le ", "\\leq ").replace("\\ge ", "\\geq ").replace("\\ne ", "\\neq ")
    s = _collapse(s)
    s = s.rstrip(_TRAILING_PUNCT)
    s = _time_24h(s)
    s = _percent_suffix(s)  # before units: "28 percent" is a percent, not 28 with a unit word
    if strip_units:
        s = _strip_units(s, glued_units)
    s = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), s)
    s = _FRAC_SHORT.sub(r"\\frac{\1}{\2}", s)
    s = _FRAC_SHORT_ARG.sub(r"\\frac{\1}{\2}", s)
    s = _SQRT_SHORT.sub(r"\\sqrt{\1}", s)
    s = _SINGLE_SCRIPT.sub(r"\1\2", s)
    s = _LEADING_DOT.sub(r"0.\1", s)
    s = _brace_set(s)
    builder = _SET_BUILDER.match(s)
    if builder is not None:
        s = builder.group(1)  # {x | x > 2} is the condition x > 2 (MARIO_EVAL)
    s = _collapse(s.rstrip(_TRAILING_PUNCT)).lstrip("=").strip()
    return Normalized(text=s, key=s.replace(" ", ""))


def _strip_math_delimiters(s: str) -> str:
    """Remove ``$``, ``$$``, ``\\( \\)``, ``\\[ \\]`` and escaped dollars (currency) anywhere."""
    s = s.replace("\\$", " ")
    s = s.replace("$", " ")
    return re.sub(r"\\[()\[\]]", " ", s)


def _collapse(s: str) -> str:
    """Collapse whitespace runs (newlines included) into single spaces."""
    return " ".join(s.split())


def _time_24h(s: str) -> str:
    """``08:34 P.M.`` -> ``20:34``, ``4:51:06 pm`` -> ``16:51:06``, ``3 p.m.`` -> ``15:00``
    (MARIO_EVAL compares clock times in 24-hour form)."""
    m = _TIME.match(s)
    if m is None:
        return s
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    half = (m.group(4) or m.group(5) or "").lower()
    if m.group(2) is None and not half:
        return s
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    if minute == 0 and not m.group(3):
        return str(hour)  # on the hour: "15:00" is "15", as MARIO_EVAL reads it
    return f"{hour:02d}:{minute:02d}{m.group(3) or ''}"


def _strip_units(s: str, glued: bool = False) -> str:
    """Drop trailing unit words (``5 cm``, ``3 m^2``) and, after a plain number, any trailing words.

    Units are removed only at the end and never when nothing would remain, so a bare ``m`` or an
    answer like ``\\text{east}`` survives. Unless ``glued``, a unit must be set off by a space (or
    ``\\text{}``): ``10m`` is the product ``10 m``, as MARIO_EVAL reads it.
    """
    if len(s) > _MAX_UNIT_LEN:
        return s  # units follow short answers; and these regexes need not be linear on long text
    stripped = _DOLLAR_WORDS.sub("", s)
    stripped = _UNIT_TAIL[glued].sub("", stripped).strip()
    m = _WORD_TAIL[glued].match(stripped)
    if m is not None and _NUMBERISH.match(m.group(1).replace(" ", "")):
        stripped = m.group(1)
    return stripped if stripped else s


def _percent_suffix(s: str) -> str:
    """Unify ``\\%``, ``%`` and the word ``percent`` into a trailing ``%`` with no space before it."""
    stripped = s.rstrip()
    m = _PERCENT.search(stripped, max(0, len(stripped) - 10))
    if m is None:
        return s
    body = stripped[: m.start()].rstrip()
    return body + "%" if body else s


def _brace_set(s: str) -> str:
    """``{x, x - 1}`` written with bare braces (MARIO) is a set: rewrite as ``\\{x, x - 1\\}``."""
    inner = strip_outer(s, "{", "}")
    if inner is not None and "," in inner and not s.startswith("\\"):
        return "\\{" + inner + "\\}"
    return s
