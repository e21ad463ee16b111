"""MathVerifier end to end, symbolic layer included (workers shared through the session fixture)."""

from __future__ import annotations

import threading

import pytest

from transforms.protocols import Verdict, Verifier
from transforms.verify import VERSION, MathVerifier, VerifyOptions, check_equal, shutdown


def test_protocol_shape():
    verifier = MathVerifier()
    assert isinstance(verifier, Verifier)
    assert verifier.name == "treemill-math"
    assert verifier.version == VERSION
    verifier.close()


def test_no_worker_for_cheap_checks():
    """String and numeric checks never start a process (the pool is lazy)."""
    with MathVerifier() as verifier:
        assert verifier.verify("so \\boxed{0.5}", "\\frac{1}{2}").equal is True
        assert verifier._engine._pool is None


def test_verdict_fields(verifier):
    verdict = verifier.verify("Thus the answer is $x = \\frac{3}{4}$.", "0.75")
    assert isinstance(verdict, Verdict)
    assert verdict.equal is True
    assert verdict.method == "numeric"
    assert verdict.extracted == "x = \\frac{3}{4}"
    assert verdict.extraction_method == "answer_is"
    assert verdict.pred_normalized == "x = \\frac{3}{4}"
    assert verdict.gold_normalized == "0.75"
    assert verdict.elapsed_s >= 0


def test_no_answer(verifier):
    verdict = verifier.verify("I am not sure.", "3")
    assert verdict.equal is None and verdict.method == "no_answer"


def test_gold_may_be_boxed(verifier):
    assert verifier.verify("#### 18", "The total is \\boxed{18}").equal is True


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),  # radicals
        ("2\\sqrt{8}", "4\\sqrt{2}"),
        ("2\\pi", "\\pi \\cdot 2"),  # pi
        ("e^{2}", "\\exp(2)"),  # e
        ("(x-1)(x+1)", "x^2-1"),  # expressions
        ("\\sec^2(y)", "\\tan^2(y)+1"),
        ("y = -\\frac{1}{2}x + \\frac{3}{4}", "2x+4y-3=0"),  # equations up to a factor
        ("(5, \\infty) \\cup (-\\infty, 3]", "(-\\infty,3]\\cup(5,\\infty)"),  # unions
        ("x \\geq 2", "[2, \\infty)"),  # relation vs interval
        ("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"),  # matrices
        ("1+2i", "2i+1"),  # complex numbers
        ("\\frac{1}{i}", "-i"),
        ("\\sqrt{9}, \\frac{1}{2}", "0.5, 3"),  # multiple answers mixing layers
    ],
)
def test_symbolic_equal(verifier, pred, gold):
    verdict = verifier.check(pred, gold)
    assert verdict.equal is True, verdict


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("x^2+1", "x^2-1"),
        ("[0, 1]", "(0, 1)"),
        ("x < 5", "x > 5"),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\3\\end{pmatrix}"),
        ("1-2i", "1+2i"),
        ("x + y - z + 2 = 0", "5x - 7y + 11z + 4 = 0"),
        ("\\sqrt{2}", "1.414"),
    ],
)
def test_symbolic_not_equal(verifier, pred, gold):
    assert verifier.check(pred, gold).equal is False


def test_relative_tolerance_option(verifier):
    assert verifier.check("\\sqrt{2}", "1.41421356237").equal is True  # within the default 1e-9
    with MathVerifier(VerifyOptions(rel_tol=0.0)) as strict:
        assert strict.check("\\sqrt{2}", "1.41421356237").equal is False


def test_decimal_approximation_option(mario_verifier, hendrycks_verifier):
    assert mario_verifier.check("1.41", "\\sqrt{2}").equal is True
    assert mario_verifier.check("3.14", "\\pi").equal is True
    assert mario_verifier.check("3.15", "\\pi").equal is False  # pi rounds and truncates to 3.14
    assert hendrycks_verifier.check("1.41", "\\sqrt{2}").equal is False


def test_unparseable_prediction_is_wrong_but_gold_is_undecided(verifier):
    assert verifier.check("\\frac{", "2").equal is False
    assert verifier.check("2", "\\frac{").equal is None


def test_cache_hits(verifier):
    verifier.check("\\sqrt{16}", "4")
    hits = verifier.cache.hits
    verdict = verifier.check("\\sqrt{16}", "4")
    assert verifier.cache.hits > hits and verdict.details.get("cached")


def test_threads_share_one_verifier(verifier):
    pairs = [(f"\\sqrt{{{n * n}}}", str(n)) for n in range(2, 14)] + [(str(n), f"{n}.0") for n in range(20)]
    results: list[bool | None] = []
    lock = threading.Lock()

    def work(chunk):
        for pred, gold in chunk:
            equal = verifier.check(pred, gold).equal
            with lock:
                results.append(equal)

    threads = [threading.Thread(target=work, args=(pairs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * len(pairs)


def test_check_equal_function():
    try:
        assert check_equal("\\frac{2}{4}", "0.5").equal is True
        assert check_equal("\\sqrt{4}", "2", VerifyOptions(timeout_s=5)).equal is True
    finally:
        shutdown()


def test_close_is_idempotent_and_cheap_layers_still_work():
    verifier = MathVerifier()
    verifier.check("\\sqrt{4}", "2")
    verifier.close()
    verifier.close()
    assert verifier.check("3", "3.0").equal is True
    assert verifier.check("\\sqrt{25}", "5").method == "error"  # no workers after close


def test_pickling_carries_only_options():
    import pickle

    with MathVerifier(VerifyOptions(timeout_s=3)) as verifier:
        verifier.check("1", "1.0")
        copy = pickle.loads(pickle.dumps(verifier))
    assert copy.options == verifier.options and copy._engine._pool is None
    assert copy.check("1/2", "0.5").equal is True
    copy.close()


def test_math_verify_fallback_rereads_guessed_answers():
    """The last number of prose ("25") was a guess; math-verify reads the same text and finds
    "1/4". Only its True is taken, and only for guesses or undecided verdicts."""
    text = "The probability is 1/4 or 25%."
    with MathVerifier(VerifyOptions(math_verify_fallback=False)) as plain:
        assert plain.verify(text, "\\frac{1}{4}").equal is False
    with MathVerifier(VerifyOptions()) as verifier:
        verdict = verifier.verify(text, "\\frac{1}{4}")
        assert verdict.equal is True and verdict.method == "math_verify"
        assert verdict.details["fallback_from"] == "numeric"
        # a marked answer is never overturned: the box says 25
        assert verifier.verify("The probability is 1/4, so \\boxed{25}", "\\frac{1}{4}").equal is False


def test_options_change_the_verdicts_they_name():
    """One pair per convention option, each flipped by its option alone."""
    cases = [
        ({"glued_units": True}, "10m", "10"),
        ({"degrees_as_radians": True}, "\\frac{\\pi}{6}", "30^\\circ"),
        ({"function_labels": True}, "y = 2x + 3", "f(x) = 2x + 3"),
        ({"decimal_approx": "inexact"}, "1.732", "\\sqrt{3}"),
        ({"percent_as_fraction": True}, "0.1", "10\\%"),
        ({"unordered_lists": True}, "2, 1", "1, 2"),
        ({"tuple_as_set": True}, "(3, 1)", "\\{1, 3\\}"),
    ]
    for option, pred, gold in cases:
        name, on = next(iter(option.items()))
        off = {"decimal_approx": "off"}.get(name, not on)
        with MathVerifier(VerifyOptions(**{name: on}, math_verify_fallback=False)) as yes, \
                MathVerifier(VerifyOptions(**{name: off}, math_verify_fallback=False)) as no:
            assert yes.check(pred, gold).equal is True, option
            assert no.check(pred, gold).equal is not True, option
