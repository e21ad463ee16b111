"""Grader settings for answer verification.

Graders disagree on a handful of conventions (see ``../shared/data/README.md``): hendrycks MATH's
``is_equiv`` compares comma lists in order and never accepts decimal approximations, MARIO_EVAL
treats lists as unordered and accepts approximations, math-verify sits in between. Every such choice
is a named option here, and the two common conventions are presets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class VerifyOptions:
    """How strictly to compare a predicted answer with the gold answer (hashable: part of cache keys)."""

    ordered_tuples: bool = True
    """Parenthesised tuples such as ``(1, 2)`` compare position by position (math-verify, MATH).
    False compares their items as a multiset."""

    tuple_as_set: bool = True
    """A parenthesised list may stand for a set of answers: ``(1, 3)`` vs ``\\{1, 3\\}`` or ``1, 3``
    is equal (math-verify). The gold's kind sets the order: against the gold point ``(2, 3)``,
    ``3, 2`` is still wrong. False: a tuple never equals a set or a bare list (MARIO_EVAL)."""

    unordered_lists: bool = True
    """Bare lists (``1, 2, 3``, ``1 and 2``) and several boxed answers compare as multisets
    (MARIO_EVAL, math-verify's FiniteSet). False compares them in order (hendrycks MATH ``is_equiv``).
    Set literals ``\\{1, 2\\}`` are always unordered."""

    decimal_approx: str = "inexact"
    """When a decimal prediction may stand for the gold value rounded or truncated to the digits it
    shows. ``"inexact"`` (default): only when the gold has no exact finite decimal form (``\\frac13``,
    ``\\sqrt3``, ``\\pi``: ``0.333``, ``1.732``, ``3.1416``) and the prediction shows at least
    ``approx_digits`` significant digits; a gold of ``12.345`` still needs ``12.345``. ``"any"``:
    any gold, at least two decimals (MARIO_EVAL's leniency). ``"off"``: never (hendrycks MATH)."""

    approx_digits: int = 3
    """Significant digits a decimal must show to count as an approximation under ``"inexact"``
    (``0.33`` is too coarse for ``\\frac13``; ``0.333`` is enough)."""

    rel_tol: float = 1e-9
    """Relative tolerance when comparing numbers that are not both exact literals (e.g. the value of
    ``\\sqrt{2}`` against ``1.41421356237``). Exact literals (ints, decimals, fractions) compare
    exactly whatever this is; 0 asks for exact equality everywhere."""

    percent_as_fraction: bool = True
    """When the gold carries a percent sign, the prediction may give the fraction (``10\\%`` vs
    ``0.1``, MARIO_EVAL). The bare number (``10``) is always accepted (hendrycks strips ``\\%``)."""

    equation_rhs: bool = True
    """``x = 3`` vs ``3``: when one side assigns to a label (``x``, ``f(x)``, ``|AB|``, ``(p, q)``) or
    is an arithmetic chain (``1+2 = 3``), compare its right-hand side (math-verify convention)."""

    relation_as_set: bool = True
    """An inequality and an interval describing the same set are equal (``x \\geq 2`` vs
    ``[2, \\infty)``), whichever side has which; math-verify allows it only when the prediction is
    the set (its ``allow_set_relation_comp=False``)."""

    strip_units: bool = True
    """Drop trailing units and words after a number (``5 cm``, ``12 apples``, ``\\text{meters}``)."""

    glued_units: bool = False
    """Also drop a unit written against the number with no space and no ``\\text`` (``10m``,
    ``5cm``). Off by default: ``10m`` reads as ``10 m``, a product, which is not ``10`` (MARIO_EVAL:
    a unit needs a space or ``\\text{}``); math-verify drops it."""

    degrees_as_radians: bool = True
    """A gold in degrees also matches the same angle in radians (``30^\\circ`` vs ``\\frac{\\pi}{6}``,
    MARIO_EVAL); the bare number always matches (``30``)."""

    function_labels: bool = True
    """``f(x) = 2x + 3`` vs ``y = 2x + 3``: two equations whose left sides are both function names
    (``y``, ``f(x)``, ``g(t)``) compare by their right sides. Off: the left sides must match."""

    math_verify_fallback: bool = True
    """When the layers above cannot decide (a side does not parse), or rejected an
    answer that was only guessed from prose (the last math span or number), ask math-verify itself
    (``verify(parse(gold), parse(pred))`` on the raw texts, in the worker pool). Only its True is
    taken; a verdict from a marked answer (box, ``####``, "the answer is") is never overturned."""

    symbolic: bool = True
    """Run the symbolic layer (sympy in worker processes). False: string and numeric layers only,
    and anything they cannot decide is ``equal=None``."""

    timeout_s: float = 5.0
    """Wall-clock budget of the symbolic layer for one check (all its sympy calls together). Time
    spent starting a worker process, or waiting for a busy pool, is not counted."""

    workers: int = 2
    """Size of the symbolic worker-process pool (started lazily, on the first symbolic check)."""

    worker_memory_mb: int = 2048
    """Address-space limit of each worker, so a runaway expansion fails instead of swapping."""

    cache_size: int = 65_536
    """Entries in the verdict cache keyed by (normalized pred, normalized gold, options); 0 disables."""

    def __post_init__(self) -> None:
        """Reject settings that cannot work rather than misbehave later."""
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.rel_tol < 0:
            raise ValueError(f"rel_tol must be >= 0, got {self.rel_tol}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.decimal_approx not in ("off", "inexact", "any"):
            raise ValueError(f"decimal_approx must be 'off', 'inexact' or 'any', got {self.decimal_approx!r}")
        if self.approx_digits < 1:
            raise ValueError(f"approx_digits must be >= 1, got {self.approx_digits}")
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size}")

    @classmethod
    def hendrycks_math(cls, **overrides) -> "VerifyOptions":
        """hendrycks MATH ``is_equiv``: ordered lists, no approximations, ``\\%`` is just dropped."""
        base = cls(unordered_lists=False, decimal_approx="off", percent_as_fraction=False, degrees_as_radians=False,
                   tuple_as_set=False)
        return replace(base, **overrides)

    @classmethod
    def mario(cls, **overrides) -> "VerifyOptions":
        """MARIO_EVAL ``is_equiv``: unordered lists, decimal approximations and percent-as-fraction."""
        base = cls(unordered_lists=True, decimal_approx="any", percent_as_fraction=True, tuple_as_set=False)
        return replace(base, **overrides)

    @classmethod
    def math_verify(cls, **overrides) -> "VerifyOptions":
        """math-verify 0.9's defaults where they differ: glued units dropped, no radians for degrees,
        approximations only through its 6-digit float rounding, labels must match."""
        base = cls(glued_units=True, degrees_as_radians=False, decimal_approx="off", function_labels=False)
        return replace(base, **overrides)

    @classmethod
    def convention(cls, name: str, **overrides) -> "VerifyOptions":
        """The preset called ``name`` (a key of ``CONVENTIONS``)."""
        if name not in CONVENTIONS:
            raise ValueError(f"unknown convention {name!r}; choose from {sorted(CONVENTIONS)}")
        return getattr(cls, CONVENTIONS[name])(**overrides)

    @classmethod
    def default(cls, **overrides) -> "VerifyOptions":
        """The defaults (documented per field above)."""
        return cls(**overrides)

    def semantic_dict(self) -> dict:
        """The settings that change a verdict (sent to workers; resource knobs left out)."""
        d = asdict(self)
        for key in ("workers", "worker_memory_mb", "cache_size", "timeout_s", "symbolic", "math_verify_fallback"):
            d.pop(key)
        return d


# Preset name on the command line -> the ``VerifyOptions`` class method that builds it.
CONVENTIONS = {"default": "default", "hendrycks": "hendrycks_math", "mario": "mario", "math-verify": "math_verify"}
