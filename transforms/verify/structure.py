"""String-level structure of an answer: lists, sets, tuples and ``label = value`` equations.

Reading structure on strings (bracket depth only) keeps multi-answers cheap: ``1, 2, 3`` vs
``3, 2, 1`` is decided by the numeric layer item by item, without sympy. Anything subtler (unions,
relations, matrices) stays one atom for the symbolic layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.verify.latex import split_top_level, strip_outer

_SEMICOLON = re.compile(r"\s*;\s*")
_LIST_SEP = re.compile(r"\s*,\s*|\s+(?:and|or)\s+")
_ANY_SEP = re.compile(r"\s*[,;]\s*|\s+(?:and|or)\s+")
_EQUALS = re.compile(r"(?<![<>!=\\])=(?!=)")
_IN = re.compile(r"\\in(?![a-zA-Z])")
_SUBSCRIPT = re.compile(r"_\s*(?:\{[^{}]*\}|\w)")
_ARITH_COMMANDS = re.compile(r"\\(?:frac|sqrt|cdot|times|div|pi)(?![a-zA-Z])")


@dataclass(frozen=True)
class Group:
    """A multi-part answer: ``kind`` is ``list`` (bare list), ``set`` (``\\{..\\}``), ``tuple`` (``(..)``)
    or ``bracket`` (``[..]``); ``items`` are the parts as normalized text."""

    kind: str
    items: tuple[str, ...]


def split_equation(text: str) -> tuple[str, str] | None:
    """``(lhs, rhs)`` of a top-level equation or membership; chains keep the first lhs and last rhs."""
    marker = _EQUALS if _EQUALS.search(text) else _IN
    parts = split_top_level(text, marker)
    if len(parts) < 2 or not parts[0].strip() or not parts[-1].strip():
        return None
    if any(len(split_top_level(p, _ANY_SEP)) > 1 for p in parts[:-1]):
        return None  # "p=5, q=2" or "x=1 or x=2": several equations, not one chain
    return parts[0].strip(), parts[-1].strip()


def is_label(lhs: str) -> bool:
    """True for a name being assigned: ``x``, ``f(x)``, ``|AB|``, ``(p, q)``, ``\\angle ABC``, ``a_{12}``.

    A label has letters and no arithmetic: no digits outside subscripts, no operators.
    """
    s = _SUBSCRIPT.sub("", lhs).replace(" ", "")
    if _FUNCTION_VALUE.fullmatch(s):
        return True  # f(2), g(-1): the value of a function at a point
    if not re.search(r"[A-Za-z]", s) or re.search(r"[\d+\-*/^]", s):
        return False
    return _ARITH_COMMANDS.search(s) is None


_FUNCTION_VALUE = re.compile(r"[a-zA-Z]\([+-]?\d+(?:\.\d+)?(?:,[+-]?\d+(?:\.\d+)?)*\)")
_FUNCTION_NAME = re.compile(r"y|[a-zA-Z](?:_\{?\w+\}?)?(?:\^\{?-1\}?)?\([a-zA-Z](?:,[a-zA-Z])*\)")


def is_function_name(lhs: str) -> bool:
    """True for the name of a function being defined: ``y``, ``f(x)``, ``g(t)``, ``f^{-1}(x)``,
    ``h_1(x, y)`` (the left side of ``y = 2x + 3`` and of ``f(x) = 2x + 3`` alike)."""
    return _FUNCTION_NAME.fullmatch(lhs.replace(" ", "")) is not None


def is_arithmetic(lhs: str) -> bool:
    """True for a constant computation (``\\frac{1}{2}+3``): the equation is a chain ending in its value."""
    s = _ARITH_COMMANDS.sub("", lhs)
    return bool(re.search(r"\d", s)) and not re.search(r"[A-Za-z]", s)


def strip_assignment(text: str) -> str:
    """The right-hand side when ``text`` assigns to a label or is an arithmetic chain, else ``text``."""
    eq = split_equation(text)
    if eq is None:
        return text
    lhs, rhs = eq
    return rhs if (is_label(lhs) or is_arithmetic(lhs)) else text


def parse_group(text: str) -> Group | None:
    """Split ``text`` into a ``Group`` when it is a multi-part answer; None for a single atom.

    ``p=5,q=2;p=7,q=2`` (solutions separated by ``;``, each a set of assignments) becomes the list
    of tuples ``(5,2)``, ``(7,2)``, following math-verify's reading of NuminaMath answers.
    """
    solutions = split_top_level(text, _SEMICOLON)
    if len(solutions) > 1:
        return Group("list", tuple(_assignments_as_tuple(s.strip()) for s in solutions if s.strip()))
    parts = [p.strip() for p in split_top_level(text, _LIST_SEP)]
    if len(parts) > 1 and all(parts):
        return _group_from_parts(parts)
    for kind, opener, closer in (("set", "\\{", "\\}"), ("tuple", "(", ")"), ("bracket", "[", "]")):
        inner = strip_outer(text, opener, closer)
        if inner is not None:
            items = [p.strip() for p in split_top_level(inner, _LIST_SEP)]
            if (len(items) > 1 or kind == "set") and all(items):
                return Group(kind, tuple(items))
    return None


def _group_from_parts(parts: list[str]) -> Group:
    """A bare list, unless every part assigns a label: distinct labels make a tuple
    (``x=1, y=2`` -> ``(1, 2)``), one repeated label a list of values (``x=1, x=2`` -> ``1, 2``)."""
    eqs = [split_equation(p) for p in parts]
    if all(eq is not None and is_label(eq[0]) for eq in eqs):
        labels = {eq[0].replace(" ", "") for eq in eqs}
        values = tuple(eq[1] for eq in eqs)
        return Group("tuple" if len(labels) == len(eqs) else "list", values)
    return Group("list", tuple(parts))


def _assignments_as_tuple(solution: str) -> str:
    """``p=5,q=2`` -> ``(5, 2)``; any other solution text is returned unchanged."""
    group = parse_group(solution)
    if group is not None and group.kind == "tuple" and not solution.startswith("("):
        return "(" + ", ".join(group.items) + ")"
    return solution
