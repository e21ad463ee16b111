"""Regression suite: the graded pairs in ``data/graded_pairs.jsonl`` (see ``data/README.md``).

Each pair names the rule it checks and the convention its label holds under; the verifier is run
the way the CLI runs it (``verify``: the prediction is a model output, the gold a bare answer or a
solution). A label of false or null (nothing to extract) asks for a verdict that is not True: the
CLI's readers, like the graders, count an undecided verdict as not equal.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from transforms.verify import MathVerifier, VerifyOptions
from transforms.verify.options import CONVENTIONS

DATA = Path(__file__).resolve().parent / "data" / "graded_pairs.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def verifiers():
    """One verifier per convention, shared by the module."""
    made = {name: MathVerifier(VerifyOptions.convention(name)) for name in CONVENTIONS}
    yield made
    for verifier in made.values():
        verifier.close()


def test_the_set_is_large_and_varied():
    assert len(ROWS) >= 300
    rules = Counter(row["rule"] for row in ROWS)
    assert len(rules) >= 40
    labels = Counter(row["equal"] for row in ROWS)
    assert labels[True] >= 150 and labels[False] >= 100
    assert sum(row["source"] == "hand" for row in ROWS) >= 150
    assert all(row["convention"] in CONVENTIONS for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['id']}-{r['rule']}" for r in ROWS])
def test_graded_pair(verifiers, row):
    verdict = verifiers[row["convention"]].verify(row["pred"], row["gold"])
    assert (verdict.equal is True) == (row["equal"] is True), (row["rule"], verdict.method, verdict.extracted,
                                                                verdict.details)
