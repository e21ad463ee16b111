"""The symbolic layer. It runs only inside worker processes (``_worker``), never in the caller.

Parsing uses latex2sympy2_extended (the parser math-verify is built on) and the comparison of two
parsed answers is math-verify's own ``sympy_expr_eq`` (sets, intervals, matrices, relations,
equations up to a constant factor, ``tan^2 + 1`` vs ``sec^2``), with float rounding tightened unless
approximations are allowed. On top of it come this project's numeric conventions: a relative
tolerance for evaluated values and the MARIO_EVAL-style decimal approximation rule.

Heavy imports happen in ``load()`` so that importing this module stays cheap.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from transforms.verify.numeric import approximates, may_approximate, parse_number

_STRICT_ROUNDING = 12  # digits math-verify rounds floats to when approximations are not allowed
_LOOSE_ROUNDING = 6  # math-verify's default


def load() -> None:
    """Import sympy, the LaTeX parser and math-verify's grader, and warm the parser once."""
    from latex2sympy2_extended import latex2sympy  # noqa: F401
    from math_verify.grader import sympy_expr_eq  # noqa: F401

    parse_answer("\\frac{1}{2}+x")


@lru_cache(maxsize=4096)
def parse_answer(text: str):
    """Parse a normalized answer to sympy; ``i`` is the imaginary unit when the text looks complex
    (math-verify's ``should_treat_as_complex`` rule). Cached per worker: in tree search one gold
    meets hundreds of predictions, and ANTLR parsing is most of the symbolic cost (sympy objects
    are immutable, so sharing them is safe)."""
    import sympy
    from latex2sympy2_extended import NormalizationConfig, latex2sympy
    from math_verify.grader import should_treat_as_complex

    is_complex = should_treat_as_complex(text)
    config = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=False, boxed="none")
    expr = latex2sympy(text, is_real=not is_complex, convert_degrees=False, normalization_config=config)
    if is_complex:
        imaginary = {s: sympy.I for s in getattr(expr, "free_symbols", ()) if s.name == "i"}
        expr = expr.xreplace(imaginary) if imaginary else expr
    return _relations_as_union(expr)


def _relations_as_union(expr):
    """``x < -2 or x > 2`` (parsed as a set of relations in one variable) is the set where either
    holds, so it can meet ``(-\\infty, -2) \\cup (2, \\infty)``; anything else is returned as is."""
    import sympy

    if not isinstance(expr, sympy.FiniteSet) or len(expr) < 2:
        return expr
    items = list(expr)
    if not all(isinstance(item, sympy.core.relational.Relational) and not isinstance(item, (sympy.Eq, sympy.Ne))
               for item in items):
        return expr
    symbols = set().union(*(item.free_symbols for item in items))
    if len(symbols) != 1:
        return expr
    try:
        return sympy.Union(*(item.as_set() for item in items))
    except (NotImplementedError, TypeError, ValueError):  # not solvable as a univariate set
        return expr


def compare(pred: str, gold: str, options: dict) -> dict:
    """Compare two normalized answers; returns ``{"equal": bool | None, "rule": str}``.

    A gold that does not parse is undecidable (None); a prediction that does not parse, while the
    gold does, is wrong (False), as in math-verify.
    """
    try:
        gold_expr = parse_answer(gold)
    except Exception as exc:  # latex2sympy raises bare Exception for syntax errors
        return {"equal": None, "rule": "gold_unparsed", "error": _short(exc)}
    try:
        pred_expr = parse_answer(pred)
    except Exception as exc:  # same: no narrower type exists
        return {"equal": False, "rule": "pred_unparsed", "error": _short(exc)}
    return _compare_parsed(pred, pred_expr, gold_expr, options)


def _compare_parsed(pred_text: str, pred_expr, gold_expr, options: dict) -> dict:
    """math-verify's comparison first, then tolerance and approximation rules for plain values."""
    from math_verify.grader import sympy_expr_eq

    if _differs_at_sample_points(pred_expr, gold_expr):
        return {"equal": False, "rule": "sample_points"}
    mode = options.get("decimal_approx", "off")
    rounding = _LOOSE_ROUNDING if mode == "any" else _STRICT_ROUNDING
    relation_as_set = bool(options.get("relation_as_set", True))
    if sympy_expr_eq(gold_expr, pred_expr, rounding, 15, relation_as_set, True):
        return {"equal": True, "rule": "sympy"}
    values = _numeric_values(pred_expr, gold_expr)
    if values is None:
        return {"equal": False, "rule": "sympy"}
    pred_value, gold_value = values
    rel_tol = float(options.get("rel_tol", 0.0))
    if rel_tol > 0 and abs(pred_value - gold_value) <= rel_tol * max(abs(pred_value), abs(gold_value)):
        return {"equal": True, "rule": "rel_tol"}
    literal = parse_number(pred_text)
    if (literal is not None and not literal.percent
            and may_approximate(literal.value, literal.decimals, _exact_rational(gold_expr), mode,
                                int(options.get("approx_digits", 3)))
            and approximates(literal.value, literal.decimals, gold_value)):
        return {"equal": True, "rule": "decimal_approx"}
    return {"equal": False, "rule": "sympy"}


def _differs_at_sample_points(pred_expr, gold_expr) -> bool:
    """Quick refutation before ``simplify`` (which is slow on unequal inputs): two plain
    expressions without floats that differ clearly at every one of a few positive rational points
    are not equal. Positive points keep domain identities like ``\\sqrt{x^2} = x`` out of play;
    anything undefined, close, or not a plain expression is left to the full comparison.
    """
    import sympy

    exprs = (pred_expr, gold_expr)
    if not all(isinstance(e, sympy.Expr) and not e.has(sympy.Float) for e in exprs):
        return False
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
    if len(symbols) > 8:
        return False
    for point in _SAMPLE_POINTS:
        values = {s: point * (k + 1) for k, s in enumerate(symbols)}
        try:
            a, b = (complex(sympy.N(e.xreplace(values), 20)) for e in exprs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return False  # not a finite number at this point: no conclusion
        if not all(map(_finite, (a, b))) or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)):
            return False
    return True


_SAMPLE_POINTS = (Fraction(7, 13), Fraction(29, 17))


def _finite(z: complex) -> bool:
    """Neither part infinite nor NaN."""
    return all(abs(part) != float("inf") and part == part for part in (z.real, z.imag))


def _numeric_values(pred_expr, gold_expr) -> tuple[Fraction, Fraction] | None:
    """Both sides as exact-enough real numbers (30 significant digits), or None if either is not
    a real constant (symbols, sets, matrices, complex values)."""
    import sympy

    values = []
    for expr in (pred_expr, gold_expr):
        if not isinstance(expr, sympy.Expr) or not expr.is_number:
            return None
        value = sympy.N(expr, 30)
        if not value.is_real or not value.is_finite:
            return None
        values.append(Fraction(str(value)))
    return values[0], values[1]


_LATEX_ENV = re.compile(r"\$|\\\(|\\\[|\\boxed\s*\{")


def math_verify_compare(pred: str, gold: str) -> dict:
    """math-verify's own verdict on the raw texts, ``verify(parse(gold), parse(pred))`` with its
    default extraction; a gold with no LaTeX delimiters is wrapped in ``$...$`` first, as
    NeMo-Skills does, because its LaTeX extractor only reads delimited math. Its own signal-based
    timeouts are off: the pool's wall clock bounds this call. None when the gold yields nothing."""
    from math_verify import parse, verify

    gold_text = gold if _LATEX_ENV.search(gold) else f"${gold}$"
    gold_parsed = parse(gold_text, parsing_timeout=None)
    if not gold_parsed:
        return {"equal": None, "rule": "math_verify_no_gold"}
    pred_parsed = parse(pred, parsing_timeout=None)
    if not pred_parsed:
        return {"equal": None, "rule": "math_verify_no_answer"}
    return {"equal": bool(verify(gold_parsed, pred_parsed, timeout_seconds=None)), "rule": "math_verify"}


def _exact_rational(expr) -> Fraction | None:
    """The exact value of a rational sympy number; None when it is irrational or not known to be
    rational (``\\sqrt{3}``, ``\\pi``), which is what allows an approximation of it."""
    import sympy

    if isinstance(expr, sympy.Rational):
        return Fraction(int(expr.p), int(expr.q))
    return None


def _short(exc: BaseException) -> str:
    """First line of an exception message, bounded (parser errors quote the whole input)."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
