"""Shared fixtures: the tiny model is built once and one vLLM engine serves every engine test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"  # small real samples with attribution (tests/data/README.md); never ../shared

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from transforms.policy.tiny import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-model")))


@pytest.fixture(scope="session")
def tiny_policy_spec(tiny_model_dir):
    from transforms.policy import PolicySpec

    return PolicySpec(model=tiny_model_dir, max_model_len=2048, kv_cache_gb=0.5)


@pytest.fixture(scope="session")
def tiny_policy(tiny_policy_spec):
    """The real vLLM engine on the tiny model, started once per test session.

    Acquired through ``shared_policy`` so pipelines run in-process by the tests reuse it. Without
    vLLM the engine tests skip, unless CI=true or TREEMILL_REQUIRE_ENGINE=1 makes that a failure.
    """
    try:
        import vllm  # noqa: F401
    except ImportError:
        if os.environ.get("TREEMILL_REQUIRE_ENGINE") == "1" or os.environ.get("CI") == "true":
            pytest.fail("vLLM is not installed, but CI (or TREEMILL_REQUIRE_ENGINE=1) requires the engine tests")
        pytest.skip("vLLM not installed (pip install -e .[cpu])")
    from transforms.policy import shared_policy

    return shared_policy(tiny_policy_spec)


@pytest.fixture(scope="session")
def gsm8k_rows() -> list[dict]:
    """The first 40 rows of GSM8K train (normalized: id, question, answer), bundled in the repo."""
    import json

    with (TEST_DATA / "gsm8k_train_normalized_first40.jsonl").open() as handle:
        return [json.loads(line) for line in handle if line.strip()]
