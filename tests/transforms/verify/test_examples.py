"""Regression suite: the 40 graded cases of answer_equivalence/examples.jsonl (bundled as
tests/data/answer_equivalence_examples.jsonl; origin and licenses in tests/data/README.md).

Each row is judged under the convention of the grader whose test suite it comes from (the README's
caveat: graders disagree). Rows are also run under the other presets; the only expected flip is
written out below with the convention that causes it.
"""

from __future__ import annotations


import pytest

from transforms.verify import VerifyOptions

CONVENTIONS = {
    "math-verify": VerifyOptions(),
    "nemo-skills": VerifyOptions(),
    "hendrycks-math": VerifyOptions.hendrycks_math(),
    "mario-eval": VerifyOptions.mario(),
}
PRESETS = {"default": VerifyOptions(), "hendrycks": VerifyOptions.hendrycks_math(), "mario": VerifyOptions.mario()}
# (row id, preset) -> expected `equal` under that preset when it differs from the row's own grader.
CONVENTION_FLIPS = {
    # MARIO reads 10% as 0.1; hendrycks is_equiv only strips the sign, so 0.1 != 10 there.
    ("ae-645930fda63a", "hendrycks"): False,
}


@pytest.fixture(scope="module")
def verifiers(verifier, hendrycks_verifier, mario_verifier):
    """The session's verifiers by preset name."""
    return {"default": verifier, "hendrycks": hendrycks_verifier, "mario": mario_verifier}


def _preset_of(options: VerifyOptions) -> str:
    return next(name for name, preset in PRESETS.items() if preset == options)


def test_every_row_under_its_own_grader(answer_equivalence_rows, verifiers):
    rows = answer_equivalence_rows
    assert len(rows) == 40
    wrong = []
    for row in rows:
        project = row["source"].split(":")[0]
        verdict = verifiers[_preset_of(CONVENTIONS[project])].verify(row["pred"], row["gold"])
        if (verdict.equal is True) != row["equal"]:
            wrong.append((row["id"], row["gold"], row["pred"][-60:], verdict.equal, verdict.method))
    assert wrong == []


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_rows_under_each_preset(answer_equivalence_rows, verifiers, preset):
    """Both list/approximation conventions are exercised on every row."""
    wrong = []
    for row in answer_equivalence_rows:
        expected = CONVENTION_FLIPS.get((row["id"], preset), row["equal"])
        verdict = verifiers[preset].verify(row["pred"], row["gold"])
        if (verdict.equal is True) != expected:
            wrong.append((row["id"], verdict.equal, verdict.method))
    assert wrong == []


def test_conventions_differ_where_documented(verifiers):
    """The ordered-list and approximation options change these verdicts, as the sources say."""
    assert verifiers["mario"].check("4, 10, 2", "10, 4, 2").equal is True
    assert verifiers["hendrycks"].check("4, 10, 2", "10, 4, 2").equal is False
    assert verifiers["mario"].check("0.33", "\\frac{1}{3}").equal is True
    assert verifiers["hendrycks"].check("0.33", "\\frac{1}{3}").equal is False
