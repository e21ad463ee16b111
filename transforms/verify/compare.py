"""Layered comparison of two normalized answers, cheapest layer first.

1. ``string``: equal normalized keys.
2. structure: equations with a label (``x = 3``), lists/sets/tuples, item by item.
3. ``numeric``: both sides plain literals, compared exactly as ``Fraction``.
4. ``symbolic``: sympy in a worker process (see ``pool``), with a deadline for the whole check.

Layers 1-3 run in-process and never evaluate anything unbounded. The outcome's method is the most
expensive layer that was needed (a list decided partly by sympy reports ``symbolic``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable

from transforms.verify.latex import split_top_level
from transforms.verify.normalize import normalize
from transforms.verify.numeric import numbers_equal, parse_number
from transforms.verify.options import VerifyOptions
from transforms.verify.structure import (
    Group,
    is_arithmetic,
    is_function_name,
    is_label,
    parse_group,
    split_equation,
)

# How expensive/uncertain each method is; the reported method is the maximum over the items.
_RANK = {"string": 0, "numeric": 1, "structure": 1, "symbolic": 2, "undecided": 3, "error": 4, "timeout": 5}
MAX_SYMBOLIC_CHARS = 2000  # longer "answers" are prose or garbage; not worth a sympy parse
MAX_UNORDERED_ITEMS = 64  # pairwise matching is quadratic; real answers list a handful of values
# Anything that can make an atom a set, a relation or several values.
_NOT_SCALAR = re.compile(r"[,;=<>\[\]]|\\(?:cup|cap|\{|begin|in|le|ge|leq|geq|neq|pm|mp|setminus|emptyset|varnothing|mathbb)(?![a-zA-Z])")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
# Text answers (after \text{} was unwrapped): words only, compared without case ("East" = "east").
_WORDS = re.compile(r"^[A-Za-z]{2,}(?: [A-Za-z]+)*$")
_CHOICE_LETTER = re.compile(r"^\(?([A-E])\)?$")
_CHOICE = re.compile(r"^\(([A-E])\)\s*(.*)$|^([A-E])$")
_ASSIGNMENT_SEP = re.compile(r"\s*[,;]\s*|\s+and\s+")


@dataclass(frozen=True)
class Outcome:
    """Result of comparing two answers: ``equal`` (None = undecided), the deciding ``method``."""

    equal: bool | None
    method: str
    details: dict = field(default_factory=dict, compare=False)


# (pred, gold, seconds left) -> Outcome; supplied by the verifier (worker pool), or None.
SymbolicFn = Callable[[str, str, float], Outcome]


class Comparer:
    """Compares answers for one check; carries the options and the check's deadline."""

    def __init__(self, options: VerifyOptions, symbolic: SymbolicFn | None, deadline: float):
        """``deadline`` is a ``time.monotonic()`` value bounding all symbolic work of this check."""
        self.options = options
        self.symbolic = symbolic
        self.deadline = deadline

    def compare(self, pred: str, gold: str) -> Outcome:
        """Compare normalized ``pred`` with normalized ``gold`` (the gold decides conventions)."""
        if _key(pred) == _key(gold):
            return Outcome(True, "string")
        if not pred.strip():
            return Outcome(None, "no_answer")
        based = _base_numbers(pred, gold)
        if based is not None:
            return based
        choice = self._choice(pred, gold)
        if choice is not None:
            return choice
        if _WORDS.match(pred) and _WORDS.match(gold) and _key(pred).lower() == _key(gold).lower():
            return Outcome(True, "string", {"rule": "text"})  # "East" = "east"; "ab" vs "ba" is for sympy
        if self.options.equation_rhs:
            pred = _order_like(pred, gold)
            pred, gold = _drop_labels(pred, gold, self.options.function_labels)
            if _key(pred) == _key(gold):
                return Outcome(True, "string")
        p_group, g_group = self._parse_group(pred), self._parse_group(gold)
        if g_group is None and p_group is not None:
            decimal = _decimal_comma(pred, gold)
            if decimal is not None:
                return decimal
        if p_group is None and g_group is not None and "." in pred:
            decimal = _decimal_comma(gold, pred)  # gold "1,22", pred "1.22": the same decimal, either way
            if decimal is not None and decimal.equal:
                return decimal
        if p_group is not None and g_group is not None:
            return self._compare_groups(p_group, g_group, pred, gold)
        if (p_group is None) != (g_group is None):
            return self._group_vs_atom(p_group or g_group, p_group is not None, pred, gold)
        return self._compare_atoms(pred, gold)

    def _choice(self, pred: str, gold: str) -> Outcome | None:
        """Multiple choice: a gold letter ``B`` / ``(B)`` matches ``(B)`` or ``(B) 12``; a gold value
        ``12`` matches the value after the letter in ``(B) 12`` (AMC answers). None: not a choice."""
        g_letter = _CHOICE_LETTER.match(gold.replace(" ", ""))
        p_choice = _CHOICE.match(pred)
        if p_choice is None:
            return None
        letter, rest = p_choice.group(1) or p_choice.group(3), p_choice.group(2)
        if g_letter is not None:
            return Outcome(g_letter.group(1) == letter, "string", {"rule": "choice"})
        return self.compare(rest, gold) if rest else None

    def _parse_group(self, text: str) -> Group | None:
        """``parse_group`` with each item normalized on its own: whole-answer rules (clock
        times, units, trailing punctuation) apply per item in ``20:34 or 8:34 p.m.``."""
        group = parse_group(text)
        if group is None or len(group.items) > MAX_UNORDERED_ITEMS:
            return group
        items = tuple(normalize(item, self.options.strip_units, self.options.glued_units).text or item for item in group.items)
        return Group(group.kind, items)

    def _group_vs_atom(self, group: Group, group_is_pred: bool, pred: str, gold: str) -> Outcome:
        """A plain scalar against several items. With set semantics (sets, or lists when
        ``unordered_lists``) it is equal when every item equals it: ``{a, a'} = {g}`` when
        ``a = a' = g``, so "$\\boxed{20:34}$ or $\\boxed{8:34 \\text{ p.m.}}$" answers ``20:34``.
        A tuple never equals a scalar. Other mixes (``\\{1,2\\}`` vs ``\\{1\\} \\cup \\{2\\}``,
        ``\\pm``) are for sympy."""
        atom = gold if group_is_pred else pred
        if len(group.items) < 2 or _NOT_SCALAR.search(atom) is not None:
            return self._symbolic(pred, gold)
        if group.kind == "set" or (group.kind == "list" and self.options.unordered_lists):
            outcomes = []
            for item in group.items:
                outcome = self.compare(item, atom) if group_is_pred else self.compare(atom, item)
                if outcome.equal is not True:
                    return outcome if outcome.equal is None else Outcome(False, "structure", {"item": item})
                outcomes.append(outcome)
            return _combine(outcomes)
        return Outcome(False, "structure", {"kinds": [group.kind, "scalar"]})

    def _compare_atoms(self, pred: str, gold: str) -> Outcome:
        """Numeric literals are decided exactly here; everything else goes to sympy."""
        p_num, g_num = parse_number(pred), parse_number(gold)
        if p_num is not None and g_num is not None:
            return Outcome(numbers_equal(p_num, g_num, self.options), "numeric")
        p_kind = "number" if p_num is not None else _kind(pred)
        g_kind = "number" if g_num is not None else _kind(gold)
        if p_kind is not None and g_kind is not None and p_kind != g_kind:
            return Outcome(False, "structure", {"kinds": [p_kind, g_kind]})
        if (p_kind == "number" and _has_variable(gold)) or (g_kind == "number" and _has_variable(pred)):
            return Outcome(False, "structure", {"kinds": ["number", "expression in a variable"]})
        return self._symbolic(pred, gold)

    def _compare_groups(self, p: Group, g: Group, pred: str, gold: str) -> Outcome:
        """Item-wise comparison; order matters per the options and the bracket kinds."""
        kinds = {p.kind, g.kind}
        if kinds <= {"list", "set"}:
            ordered = not (self.options.unordered_lists or "set" in kinds)
        elif kinds == {"tuple"}:
            ordered = self.options.ordered_tuples
        elif kinds == {"bracket"}:
            ordered = True
        elif kinds in ({"tuple", "set"}, {"tuple", "list"}) and self.options.tuple_as_set:
            # "(1, 3)" for the solution set {1, 3} (math-verify); the gold's kind sets the order, so
            # the point (2, 3) is still not "3, 2"
            ordered = g.kind == "tuple" or (g.kind == "list" and not self.options.unordered_lists)
        elif "list" in kinds or "set" in kinds:
            return Outcome(False, "structure", {"kinds": sorted(kinds)})  # (1, 2) is not 1, 2
        else:
            return self._symbolic(pred, gold)  # (1, 2] vs [1, 2]: intervals, let sympy read them
        if len(p.items) != len(g.items):
            return Outcome(False, "structure", {"lengths": [len(p.items), len(g.items)]})
        if ordered:
            return self._match_ordered(p.items, g.items)
        if sorted(map(_key, p.items)) == sorted(map(_key, g.items)):
            return Outcome(True, "string")  # same multiset of strings: no pairwise work
        if len(p.items) > MAX_UNORDERED_ITEMS:
            return Outcome(None, "undecided", {"reason": f"more than {MAX_UNORDERED_ITEMS} items"})
        return self._match_unordered(list(p.items), list(g.items))

    def _match_ordered(self, preds: tuple[str, ...], golds: tuple[str, ...]) -> Outcome:
        """Position by position; the first unequal pair decides (later pairs are not computed)."""
        outcomes: list[Outcome] = []
        for pred, gold in zip(preds, golds):
            outcome = self.compare(pred, gold)
            if outcome.equal is False:
                return outcome
            outcomes.append(outcome)
        return _combine(outcomes)

    def _match_unordered(self, preds: list[str], golds: list[str]) -> Outcome:
        """Greedy multiset matching: each gold item takes the first unused prediction equal to it."""
        used: set[int] = set()
        outcomes: list[Outcome] = []
        for gold in golds:
            found = None
            tried: list[Outcome] = []
            for i, pred in enumerate(preds):
                if i in used:
                    continue
                outcome = self.compare(pred, gold)
                tried.append(outcome)
                if outcome.equal:
                    found = i
                    outcomes.append(outcome)
                    break
            if found is None:
                undecided = [o for o in tried if o.equal is None]
                return undecided[0] if undecided else _worst(tried, False)
            used.add(found)
        return _combine(outcomes)

    def _symbolic(self, pred: str, gold: str) -> Outcome:
        """Hand the pair to the symbolic layer with what is left of the deadline."""
        if self.symbolic is None or not self.options.symbolic:
            return Outcome(None, "undecided")
        if max(len(pred), len(gold)) > MAX_SYMBOLIC_CHARS:
            return Outcome(None, "undecided", {"reason": f"longer than {MAX_SYMBOLIC_CHARS} characters"})
        left = self.deadline - time.monotonic()
        if left <= 0:
            return Outcome(None, "timeout")
        return self.symbolic(pred, gold, left)


_MATRIX = re.compile(r"\\begin\{(?:[pbBvV]?matrix|array|smallmatrix)\}")
_INTERVAL = re.compile(r"^(?:\[[^,\[\]()]+,[^,\[\]()]+\)|\([^,\[\]()]+,[^,\[\]()]+\]|[\[(][^,]*\\infty[^,]*,[^,]+[\])]|[\[(][^,]+,[^,]*\\infty[^,]*[\])])$")
_SET_OPERATOR = re.compile(r"\\(?:cup|cap|setminus)(?![a-zA-Z])")


def _kind(text: str) -> str | None:
    """A kind no answer of another kind can equal: a matrix or vector, an interval or union of
    sets, an equation (labels were already dropped), or words (``Wednesday``); None when unsure (``\\sqrt{2}``, ``2\\pi``, ``x - x + 3``: sympy decides).
    Cheap refutations (a number is never a matrix) keep wrong answers out of the worker pool."""
    if _MATRIX.search(text):
        return "matrix"
    if _SET_OPERATOR.search(text) or _INTERVAL.match(text):
        return "set"
    if split_equation(text) is not None:
        return "equation"
    if _WORDS.match(text) and len(_key(text)) >= 3:
        return "text"
    return None


_COMMAND_OR_TEXT = re.compile(r"\\(?:text|mathrm|operatorname|mbox)\s*\{[^{}]*\}|\\[a-zA-Z]+|\\.")
_RELATION = re.compile(r"[<>]|\\(?:[lg]eq?|[lg]t|neq?|approx|sim|in)(?![a-zA-Z])")
_VARIABLE = re.compile(r"(?<![A-Za-z])(?![ei](?![A-Za-z]))[A-Za-z](?![A-Za-z])")


def _has_variable(text: str) -> bool:
    """A free single-letter variable outside commands (``3x(3x+1)``, ``10m``); ``e`` and ``i``
    are constants, and relations are left alone (``x > 2`` is a set, not an expression). Such an
    expression is not a number: answers are not written as ``x - x + 3``."""
    if _RELATION.search(text) or "_" in text:
        return False
    return _VARIABLE.search(_COMMAND_OR_TEXT.sub(" ", text)) is not None


def _key(text: str) -> str:
    """Whitespace-free form used for string equality."""
    return text.replace(" ", "")


def _drop_labels(pred: str, gold: str, function_labels: bool = True) -> tuple[str, str]:
    """Apply the ``x = 3`` vs ``3`` rule (math-verify): strip a label or arithmetic chain from the
    side that has an equation when the other side does not; strip both when both assign the same
    label (``y = 2x`` vs ``y = x + x``), or, with ``function_labels``, when both name a function
    (``f(x) = 2x + 3`` vs ``y = 2x + 3``)."""
    p_eq, g_eq = split_equation(pred), split_equation(gold)
    if p_eq and g_eq:
        if is_label(p_eq[0]) and _key(p_eq[0]) == _key(g_eq[0]):
            return p_eq[1], g_eq[1]
        if function_labels and is_function_name(p_eq[0]) and is_function_name(g_eq[0]):
            return p_eq[1], g_eq[1]
        return pred, gold
    if p_eq and (is_label(p_eq[0]) or is_arithmetic(p_eq[0])):
        return p_eq[1], gold
    if g_eq and (is_label(g_eq[0]) or is_arithmetic(g_eq[0])):
        return pred, g_eq[1]
    return pred, gold


_BASE_NUMBER = re.compile(r"^([0-9A-Za-z]{1,64})_\{?\(?(\d{1,2})\)?\}?$")


def _base_value(text: str) -> int | None:
    """``1011_2`` -> 11: a numeral with its base written as a subscript (bases 2 to 36)."""
    m = _BASE_NUMBER.match(text.replace(" ", ""))
    if m is None or not 2 <= int(m.group(2)) <= 36:
        return None
    try:
        return int(m.group(1), int(m.group(2)))
    except ValueError:  # a digit not allowed in that base
        return None


def _base_numbers(pred: str, gold: str) -> Outcome | None:
    """A numeral in base b against a decimal integer: equal when the values are, or when the
    integer is the numeral's digits without the base (MARIO_EVAL accepts ``1011`` for ``1011_2``)."""
    for based, plain in ((gold, pred), (pred, gold)):
        value = _base_value(based)
        if value is not None and re.fullmatch(r"-?\d{1,80}", _key(plain)):
            digits = _key(based).split("_")[0]
            return Outcome(int(_key(plain)) == value or _key(plain) == digits, "numeric", {"rule": "base"})
    return None


def _assignments(text: str) -> dict[str, str] | None:
    """``x = 1, y = 2`` -> ``{"x": "1", "y": "2"}`` when every part assigns a distinct label."""
    parts = split_top_level(text, _ASSIGNMENT_SEP)
    if len(parts) < 2:
        return None
    found: dict[str, str] = {}
    for part in parts:
        eq = split_equation(part.strip())
        if eq is None or not is_label(eq[0]) or _key(eq[0]) in found:
            return None
        found[_key(eq[0])] = eq[1]
    return found


def _order_like(pred: str, gold: str) -> str:
    """``y = 3, x = 2`` against ``x = 2, y = 3``: the same labels, so put the prediction's
    assignments in the gold's order (each value keeps its label)."""
    p_map, g_map = _assignments(pred), _assignments(gold)
    if p_map is None or g_map is None or set(p_map) != set(g_map) or list(p_map) == list(g_map):
        return pred
    return ", ".join(f"{label} = {p_map[label]}" for label in g_map)


def _decimal_comma(pred: str, gold: str) -> Outcome | None:
    """``1000,99`` against a single-number gold reads as the decimal ``1000.99`` (math-verify
    accepts the European decimal comma when the gold is one number)."""
    g_num = parse_number(gold)
    if g_num is None or not _DECIMAL_COMMA.match(pred.replace(" ", "")) or ", " in pred:
        return None
    p_num = parse_number(pred.replace(",", "."))
    if p_num is None:
        return None
    return Outcome(p_num.value == g_num.value, "numeric", {"decimal_comma": True})


def _combine(outcomes: list[Outcome]) -> Outcome:
    """All equal -> equal (method: the costliest used); a False wins over an undecided."""
    if not outcomes:
        return Outcome(True, "structure")
    falses = [o for o in outcomes if o.equal is False]
    if falses:
        return falses[0]
    nones = [o for o in outcomes if o.equal is None]
    if nones:
        return nones[0]
    return _worst(outcomes, True)


def _worst(outcomes: list[Outcome], equal: bool) -> Outcome:
    """The outcome with the costliest method, reported with ``equal``."""
    if not outcomes:
        return Outcome(equal, "structure")
    worst = max(outcomes, key=lambda o: _RANK.get(o.method, 2))
    return Outcome(equal, worst.method, worst.details)
