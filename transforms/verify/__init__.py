"""Answer verification: extraction plus layered equivalence (string, numeric, symbolic).

Public API::

    VerifyOptions            frozen settings (conventions, tolerances, timeout, pool size)
    extract_answer(text)     -> (answer | None, method | None)
    check_equal(pred, gold, options) -> Verdict        (pred is already an answer string)
    MathVerifier(options)    the ``transforms.protocols.Verifier``: .verify(prediction, gold), .close()

``Verdict.method`` is one of: ``string``, ``numeric``, ``structure`` (list/tuple shapes differ),
``symbolic`` (sympy decided; ``details["rule"]`` says how), ``timeout``, ``no_answer``, ``no_gold``,
``undecided`` (no layer could decide, e.g. the gold does not parse) or ``error`` (sympy failed).
``equal`` is None for the last five.

Importing this package starts nothing: sympy is imported only in worker processes, which start on
the first symbolic comparison.
"""

from transforms.verify.checker import VERSION, MathVerifier, check_equal, shutdown
from transforms.verify.extract import METHODS as EXTRACTION_METHODS
from transforms.verify.extract import extract_answer, gold_answer
from transforms.verify.options import VerifyOptions

__all__ = [
    "EXTRACTION_METHODS",
    "VERSION",
    "MathVerifier",
    "VerifyOptions",
    "check_equal",
    "extract_answer",
    "gold_answer",
    "shutdown",
]
