"""Fuzzing: random strings, random LaTeX and random model-output shapes never raise and never exceed
the timeout. ``bench/verify_fuzz.py`` runs the same properties on 10,000 cases."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.verify import MathVerifier, VerifyOptions, extract_answer, gold_answer
from transforms.verify.fuzzing import latex, solution, text

TIMEOUT_S = 1.0
SLACK_S = 3.0  # killing a stuck worker, and a shared machine starving this process of CPU


@pytest.fixture(scope="module")
def fuzz_verifier():
    with MathVerifier(VerifyOptions(timeout_s=TIMEOUT_S, workers=1)) as verifier:
        yield verifier


@settings(max_examples=150, deadline=None)
@given(text)
def test_extract_never_raises(s):
    answer, method = extract_answer(s)
    assert (answer is None) == (method is None)


@settings(max_examples=300, deadline=None)
@given(solution)
def test_extract_solutions_never_raises(s):
    answer, method = extract_answer(s)
    assert (answer is None) == (method is None)
    assert answer is None or answer.strip()
    assert isinstance(gold_answer(s), str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(latex, text, solution), st.one_of(latex, solution))
def test_check_never_raises_or_overruns(fuzz_verifier, pred, gold):
    startup = fuzz_verifier.worker_startup_s
    verdict = fuzz_verifier.verify(pred, gold)
    assert verdict.equal in (True, False, None)
    # starting a replacement worker after a kill is not part of the budget (see VerifyOptions.timeout_s)
    assert verdict.elapsed_s - (fuzz_verifier.worker_startup_s - startup) < TIMEOUT_S + SLACK_S
