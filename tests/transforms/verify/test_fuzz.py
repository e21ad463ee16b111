"""Fuzzing: random strings and random LaTeX never raise and never exceed the timeout."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.verify import MathVerifier, VerifyOptions, extract_answer

TIMEOUT_S = 1.0
SLACK_S = 1.5  # starting a replacement worker after a kill is not counted in the timeout

_ATOMS = ["x", "y", "2", "-3", "0.5", "\\pi", "e", "i", "10", "\\infty", "1,000", "7\\%", "n"]
_WRAPS = [
    "\\frac{{{0}}}{{{1}}}", "\\sqrt{{{0}}}", "{0}^{{{1}}}", "({0}, {1})", "[{0}, {1})", "\\{{{0}, {1}\\}}",
    "{0} = {1}", "{0} + {1}", "{0}{1}", "\\left({0}\\right)", "\\boxed{{{0}}}", "{0} \\cup {1}",
    "\\begin{{pmatrix}}{0} & {1}\\end{{pmatrix}}", "\\text{{{0}}}", "{0} \\leq {1}", "\\sin({0})", "{0}!",
    "\\{{", "}}", "{0} \\\\ {1}", "$${0}$$",
]

latex = st.recursive(
    st.sampled_from(_ATOMS),
    lambda inner: st.builds(lambda w, a, b: w.format(a, b), st.sampled_from(_WRAPS), inner, inner),
    max_leaves=8,
)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@pytest.fixture(scope="module")
def fuzz_verifier():
    with MathVerifier(VerifyOptions(timeout_s=TIMEOUT_S, workers=1)) as verifier:
        yield verifier


@settings(max_examples=150, deadline=None)
@given(text)
def test_extract_never_raises(s):
    answer, method = extract_answer(s)
    assert (answer is None) == (method is None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(latex, text), latex)
def test_check_never_raises_or_overruns(fuzz_verifier, pred, gold):
    verdict = fuzz_verifier.verify(pred, gold)
    assert verdict.equal in (True, False, None)
    assert verdict.elapsed_s < TIMEOUT_S + SLACK_S
