"""Shared fixtures: one verifier per test session (its workers start once)."""

from __future__ import annotations

import pytest

from transforms.verify import MathVerifier, VerifyOptions


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
