"""Shared sandbox fixtures: one small pool for the whole folder (start-up imports sympy)."""

from __future__ import annotations

import os

import pytest

from transforms.sandbox import SandboxExecutor, SandboxLimits

# Generous time for ordinary programs (CI machines can be loaded); a small output cap.
TEST_LIMITS = SandboxLimits(timeout_s=10.0, cpu_s=10.0, memory_mb=1024, max_output_bytes=4096)
# Short limits keep the hostile programs (loops, sleeps, bombs) quick to contain.
HOSTILE_LIMITS = SandboxLimits(timeout_s=1.5, cpu_s=1.5, memory_mb=1024, max_output_bytes=4096)


@pytest.fixture(scope="session")
def hostile() -> SandboxLimits:
    """Limits for programs expected to run into them."""
    return HOSTILE_LIMITS


@pytest.fixture(scope="session")
def executor():
    """A two-worker pool without cache, so every call really executes.

    TREEMILL_TEST_SANDBOX_ISOLATION=unshare|rlimits runs the folder against a fallback level.
    """
    isolation = os.environ.get("TREEMILL_TEST_SANDBOX_ISOLATION", "auto")
    with SandboxExecutor(TEST_LIMITS, workers=2, cache_bytes=0, isolation=isolation) as pool:
        yield pool


@pytest.fixture
def assert_serving(executor):
    """Check that the pool still runs a normal program correctly."""

    def check(tag: str) -> None:
        result = executor.execute(f"# after {tag}\nprint(6 * 7)")  # unique code: a real run
        assert result.status == "ok", result
        assert result.stdout == "42\n"

    return check
