"""Shared fixtures: one verifier per test session (its workers start once) and the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms.verify import MathVerifier, VerifyOptions

REPO_ROOT = Path(__file__).resolve().parents[3]
TEST_DATA = REPO_ROOT / "tests" / "data"  # bundled samples with attribution (tests/data/README.md)


@pytest.fixture(scope="session")
def verifier():
    """A default verifier shared by the whole session; closed at the end."""
    with MathVerifier(VerifyOptions()) as v:
        yield v


@pytest.fixture(scope="session")
def mario_verifier():
    """A verifier with MARIO_EVAL's conventions, shared by the session."""
    with MathVerifier(VerifyOptions.mario()) as v:
        yield v


@pytest.fixture(scope="session")
def hendrycks_verifier():
    """A verifier with hendrycks MATH's conventions, shared by the session."""
    with MathVerifier(VerifyOptions.hendrycks_math()) as v:
        yield v


@pytest.fixture(scope="session")
def answer_equivalence_rows() -> list[dict]:
    """The 40 graded answer-equivalence cases, bundled in the repo."""
    path = TEST_DATA / "answer_equivalence_examples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
