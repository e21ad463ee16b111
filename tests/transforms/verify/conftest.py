"""Shared fixtures: one verifier per test session (its workers start once) and the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.verify import MathVerifier, VerifyOptions

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"  # CI clones the repo with shared/ beside it


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
def shared_data() -> Path:
    """The ``../shared/data`` folder, or a skip saying it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (CI places shared/ beside the repo)")
    return SHARED_DATA
