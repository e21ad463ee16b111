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

    unordered_lists: bool = True
    """Bare lists (``1, 2, 3``, ``1 and 2``) and several boxed answers compare as multisets
    (MARIO_EVAL, math-verify's FiniteSet). False compares them in order (hendrycks MATH ``is_equiv``).
    Set literals ``\\{1, 2\\}`` are always unordered."""

    accept_decimal_approx: bool = False
    """A decimal prediction counts when it is the gold value rounded or truncated to the digits it
    shows, with at least two decimals (MARIO_EVAL accepts approximations; MATH does not)."""

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
        if self.cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size}")

    @classmethod
    def hendrycks_math(cls, **overrides) -> "VerifyOptions":
        """hendrycks MATH ``is_equiv``: ordered lists, no approximations, ``\\%`` is just dropped."""
        base = cls(unordered_lists=False, accept_decimal_approx=False, percent_as_fraction=False)
        return replace(base, **overrides)

    @classmethod
    def mario(cls, **overrides) -> "VerifyOptions":
        """MARIO_EVAL ``is_equiv``: unordered lists, decimal approximations and percent-as-fraction."""
        base = cls(unordered_lists=True, accept_decimal_approx=True, percent_as_fraction=True)
        return replace(base, **overrides)

    def semantic_dict(self) -> dict:
        """The settings that change a verdict (sent to workers; resource knobs left out)."""
        d = asdict(self)
        for key in ("workers", "worker_memory_mb", "cache_size", "timeout_s", "symbolic"):
            d.pop(key)
        return d
