"""``check_equal`` and ``MathVerifier``: extraction, normalization, layered comparison, caching."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

from transforms.protocols import Verdict
from transforms.verify.cache import LruCache
from transforms.verify.compare import Comparer, Outcome
from transforms.verify.extract import extract_answer, gold_answer
from transforms.verify.normalize import normalize
from transforms.verify.options import VerifyOptions
from transforms.verify.pool import SymbolicPool, WorkerError

_WEAK_EXTRACTION = ("math_span", "last_number")  # guesses from prose, not marked answers
_MAX_FALLBACK_CHARS = 20_000  # math-verify reads whole solutions; beyond this it is runaway text

VERSION = "2"  # bump whenever a rule change can change a verdict (it is stored with the data)


class _Engine:
    """Options + cache + a lazily started worker pool: the state one verifier owns."""

    def __init__(self, options: VerifyOptions):
        """Nothing heavy happens here; the pool starts on the first symbolic comparison."""
        self.options = options
        self.cache = LruCache(options.cache_size)
        self._pool: SymbolicPool | None = None
        self._pool_lock = threading.Lock()
        self._closed = False

    def check(self, pred: str, gold: str) -> Verdict:
        """Compare an extracted prediction with a gold answer (both raw answer strings).

        The cache is consulted twice: on the raw strings (skips normalization for exact repeats,
        common in tree search) and on the normalized keys.
        """
        start = time.monotonic()
        raw_key = ("raw", pred, gold)
        verdict = self.cache.get(raw_key)
        if verdict is not None:
            return replace(verdict, elapsed_s=time.monotonic() - start, details=dict(verdict.details, cached=True))
        verdict = self._check_normalized(pred, gold, start)
        self.cache.put(raw_key, verdict)
        return replace(verdict, elapsed_s=time.monotonic() - start)

    def _check_normalized(self, pred: str, gold: str, start: float) -> Verdict:
        """Normalize both sides, then use the cache keyed by the normalized forms or compare."""
        p_norm = normalize(pred, self.options.strip_units, self.options.glued_units)
        g_norm = normalize(gold, self.options.strip_units, self.options.glued_units)
        key = ("check", p_norm.key, g_norm.key)
        outcome = self.cache.get(key)
        cached = outcome is not None
        if outcome is None:
            if not g_norm.key:
                outcome = Outcome(None, "no_gold")
            else:
                comparer = Comparer(self.options, self._symbolic, start + self.options.timeout_s)
                outcome = comparer.compare(p_norm.text, g_norm.text)
                if outcome.equal is False and self.options.degrees_as_radians:
                    outcome = self._as_radians(comparer, pred, gold, p_norm.text, g_norm.text) or outcome
            self.cache.put(key, outcome)
        details = dict(outcome.details, cached=True) if cached else dict(outcome.details)
        return Verdict(equal=outcome.equal, method=outcome.method, pred_normalized=p_norm.text,
                       gold_normalized=g_norm.text, details=details)

    @staticmethod
    def _as_radians(comparer: Comparer, pred: str, gold: str, p_text: str, g_text: str) -> Outcome | None:
        """An angle in degrees on one side, radians (with pi) on the other: compare in radians."""
        if "pi" in pred or "π" in pred:
            radians = _in_radians(gold)
            if radians is not None:
                outcome = comparer.compare(p_text, radians)
                return outcome if outcome.equal else None
        if "pi" in gold or "π" in gold:
            radians = _in_radians(pred)
            if radians is not None:
                outcome = comparer.compare(radians, g_text)
                return outcome if outcome.equal else None
        return None

    def _symbolic(self, pred: str, gold: str, timeout_s: float) -> Outcome:
        """One symbolic comparison on a worker, cached per (pred, gold) atom pair."""
        key = ("symbolic", pred, gold)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            answer = self._get_pool().call(pred, gold, self.options.semantic_dict(), timeout_s)
        except WorkerError as exc:
            return Outcome(None, "error", {"error": str(exc)})
        rule = answer.get("rule", "")
        if rule == "timeout":
            outcome = Outcome(None, "timeout", {"timeout_s": round(timeout_s, 3)})
        elif answer.get("equal") is None:
            outcome = Outcome(None, "error" if rule != "gold_unparsed" else "undecided", _answer_details(answer))
        else:
            outcome = Outcome(bool(answer["equal"]), "symbolic", _answer_details(answer))
        if rule != "worker_error":
            self.cache.put(key, outcome)  # timeouts too: retrying the same input would stall again
        return outcome

    def math_verify(self, pred: str, gold: str, timeout_s: float) -> Outcome:
        """math-verify's verdict on the raw texts (a worker call, cached); the last layer."""
        key = ("math_verify", pred, gold)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if timeout_s <= 0 or max(len(pred), len(gold)) > _MAX_FALLBACK_CHARS:
            return Outcome(None, "undecided")
        try:
            answer = self._get_pool().call(pred, gold, {}, timeout_s, kind="math_verify")
        except WorkerError as exc:
            return Outcome(None, "error", {"error": str(exc)})
        if answer.get("equal") is None:
            outcome = Outcome(None, "timeout" if answer.get("rule") == "timeout" else "undecided", _answer_details(answer))
        else:
            outcome = Outcome(bool(answer["equal"]), "math_verify", _answer_details(answer))
        if answer.get("rule") != "worker_error":
            self.cache.put(key, outcome)
        return outcome

    def fallback(self, verdict: Verdict, pred: str, gold: str, start: float, weak_extraction: bool = False) -> Verdict:
        """Give an undecided ``verdict`` to math-verify, with what is left of the check's time; only
        its True is taken (it found an answer, or read a form, that the layers could not). A False
        resting on a guessed answer (``weak_extraction``: the last math span or number of prose)
        gets the same second reading."""
        if (not self.options.math_verify_fallback or not self.options.symbolic
                or verdict.method in ("timeout", "no_answer")):
            return verdict  # out of time, or no math and no number anywhere: nothing more to read
        if verdict.equal is True or (verdict.equal is False and not weak_extraction):
            return verdict
        outcome = self.math_verify(pred, gold, start + self.options.timeout_s - time.monotonic())
        if outcome.equal is not True:
            return verdict  # what our layers could not read stays undecided; math-verify's False adds nothing
        details = dict(verdict.details, fallback_from=verdict.method, **outcome.details)
        return replace(verdict, equal=outcome.equal, method=outcome.method, details=details)

    def _get_pool(self) -> SymbolicPool:
        """The worker pool, created on first use."""
        with self._pool_lock:
            if self._closed:
                raise WorkerError("verifier is closed")
            if self._pool is None:
                self._pool = SymbolicPool(self.options.workers, self.options.worker_memory_mb)
            return self._pool

    def close(self) -> None:
        """Stop the worker processes (if any were started). Idempotent."""
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


_DEGREES_GOLD = re.compile(r"^\s*\$?\s*([+-]?\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree\b)\s*\$?\s*$")


def _in_radians(text: str) -> str | None:
    """``30^\\circ`` -> ``\\frac{30\\pi}{180}``: an angle in degrees, as radians (MARIO_EVAL
    accepts either); None when the text is not one number of degrees."""
    m = _DEGREES_GOLD.match(text)
    return None if m is None else f"\\frac{{{m.group(1)}\\pi}}{{180}}"


def _answer_details(answer: dict) -> dict:
    """The worker's rule (and error, if any) for the verdict's details."""
    details = {"rule": answer.get("rule")}
    if answer.get("error"):
        details["error"] = answer["error"]
    return details


class MathVerifier:
    """The ``Verifier`` protocol for math answers: extract, normalize, compare in layers.

    Thread-safe: Beam may call ``verify`` from several threads of one DoFn instance. Build it in
    ``DoFn.setup()`` and ``close()`` it in ``teardown()`` (or use it as a context manager).
    """

    name = "treemill-math"
    version = VERSION

    def __init__(self, options: VerifyOptions | None = None):
        """No worker starts until a comparison needs sympy."""
        self.options = options or VerifyOptions()
        self._engine = _Engine(self.options)

    def verify(self, prediction: str, gold: str) -> Verdict:
        """Extract the answer from ``prediction`` (a final step, a solution, or a bare answer, which
        extracts to itself) and compare it with ``gold`` (a bare answer or a solution). When the
        layers cannot decide, math-verify gets the raw texts (``math_verify_fallback``)."""
        start = time.monotonic()
        answer, method = extract_answer(prediction)
        if answer is None:
            verdict = Verdict(equal=None, method="no_answer")
        else:
            verdict = self._engine.check(answer, gold_answer(gold))
        verdict = self._engine.fallback(verdict, prediction, gold, start, method in _WEAK_EXTRACTION)
        return _with_extraction(verdict, answer, method, time.monotonic() - start)

    def check(self, pred: str, gold: str) -> Verdict:
        """Compare an answer string (no extraction) with ``gold``, using this verifier's pool and cache."""
        start = time.monotonic()
        verdict = self._engine.fallback(self._engine.check(pred, gold_answer(gold)), pred, gold, start)
        return _with_extraction(verdict, pred, None, time.monotonic() - start)

    @property
    def worker_startup_s(self) -> float:
        """Seconds spent so far starting symbolic workers (outside every check's time budget)."""
        pool = self._engine._pool
        return pool.startup_s if pool is not None else 0.0

    @property
    def cache(self) -> LruCache:
        """The verdict cache (for hit statistics)."""
        return self._engine.cache

    def close(self) -> None:
        """Stop the symbolic workers. The verifier stays usable for string/numeric checks."""
        self._engine.close()

    def __enter__(self) -> "MathVerifier":
        """Use as ``with MathVerifier() as v:``; workers stop on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the verifier."""
        self.close()

    def __reduce__(self):
        """Pickling carries only the options: the copy starts with no workers and an empty cache
        (processes and locks cannot travel; Beam should still build it in ``DoFn.setup``)."""
        return (MathVerifier, (self.options,))


def _with_extraction(verdict: Verdict, answer: str, method: str | None, elapsed: float) -> Verdict:
    """The verdict with extraction fields and the total elapsed time filled in."""
    return Verdict(equal=verdict.equal, method=verdict.method, extracted=answer, extraction_method=method,
                   pred_normalized=verdict.pred_normalized, gold_normalized=verdict.gold_normalized,
                   elapsed_s=elapsed, details=verdict.details)


_default_lock = threading.Lock()
_default_verifiers: dict[VerifyOptions, MathVerifier] = {}


def check_equal(pred: str, gold: str, options: VerifyOptions | None = None) -> Verdict:
    """Compare an answer string with a gold answer.

    Uses one shared verifier per distinct ``options`` (module state, created on first call): a
    function-style API cannot own a worker pool, and starting one per call would cost a second.
    ``shutdown()`` stops those workers; they also exit by themselves when this process ends.
    """
    options = options or VerifyOptions()
    with _default_lock:
        verifier = _default_verifiers.get(options)
        if verifier is None:
            verifier = _default_verifiers[options] = MathVerifier(options)
    return verifier.check(pred, gold)


def shutdown() -> None:
    """Close the verifiers that ``check_equal`` created."""
    with _default_lock:
        verifiers = list(_default_verifiers.values())
        _default_verifiers.clear()
    for verifier in verifiers:
        verifier.close()
