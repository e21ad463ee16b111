"""Kill tests: generate, label and export run as subprocesses, are killed with SIGKILL at 5 seeded
random points, resumed each time, and must end with exactly the tables of an uninterrupted run.

generate runs on the real vLLM engine with the tiny model (step-level search, a few problems); the
comparison is over the node table sorted by (problem_id, path), every column but ``created_at``
(the wall-clock time a node was made), plus: no duplicate node, no missing or extra tree.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.generate import DEMO_INPUT
from pipelines.generate import run as generate
from tests.cli import assert_one_error_line

REPO = Path(__file__).resolve().parents[2]
PROBLEMS = 5
KILLS = 5
SEARCH = ["--search", "sbs", "--search-param", "n=2", "--search-param", "max_depth=3", "--search-param", "max_tokens=24",
          "--search-param", "rank_by=logprob", "--batch-size", "2", "--num-shards", "2", "--no-progress"]


def _env() -> dict:
    # The subprocess must import this checkout's code (cwd and PYTHONPATH = the repo root).
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _start(module: str, argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *argv], cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def _kill_at(proc: subprocess.Popen, ready, delay: float, timeout: float = 600) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after ``ready()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    return killed


def _table(pattern: str, order: str, exclude: str = "created_at") -> list[dict]:
    """Rows of every shard matching ``pattern``, sorted, without the wall-clock column."""
    columns = f"* EXCLUDE ({exclude})" if exclude else "*"
    return duckdb.sql(f"SELECT {columns} FROM read_parquet('{pattern}') ORDER BY {order}").to_arrow_table().to_pylist()


def _generate_argv(spec, out: Path) -> list[str]:
    return ["--input", str(DEMO_INPUT), "--limit", str(PROBLEMS), "--output", str(out), "--model", spec.model,
            "--max-model-len", str(spec.max_model_len), "--kv-cache-gb", str(spec.kv_cache_gb), *SEARCH]


def _parts(out: Path) -> int:
    folder = out / "_parts" / "nodes"
    return len(list(folder.glob("part-*.parquet"))) if folder.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_policy, tiny_policy_spec):
    """The reference: one uninterrupted generate run (in this process, on the shared engine)."""
    out = tmp_path_factory.mktemp("reference")
    generate(_generate_argv(tiny_policy_spec, out))
    return out


def test_generate_killed_five_times_ends_with_the_uninterrupted_node_table(uninterrupted, tiny_policy_spec, tmp_path):
    out = tmp_path / "killed"
    rng = random.Random(13)
    killed_after_progress = 0
    for _ in range(KILLS):
        # A kill point: during start-up or the first batch (k=0), or just after a batch committed (k=1).
        before, k = _parts(out), rng.choice([0, 1])
        delay = rng.uniform(2.0, 15.0) if k == 0 else rng.uniform(0.0, 2.0)
        proc = _start("pipelines.generate", _generate_argv(tiny_policy_spec, out))
        killed = _kill_at(proc, lambda: _parts(out) >= before + k, delay)
        killed_after_progress += killed and _parts(out) > before
    log = _finish(_start("pipelines.generate", _generate_argv(tiny_policy_spec, out)))
    assert killed_after_progress >= 1, "no kill landed after a committed part: the test checked nothing"
    assert "resumed:" in log

    order = "problem_id, path"
    expected, got = _table(f"{uninterrupted}/nodes/*.parquet", order), _table(f"{out}/nodes/*.parquet", order)
    keys = [(r["problem_id"], r["path"]) for r in got]
    assert len(keys) == len(set(keys)), "duplicate nodes"
    assert {r["problem_id"] for r in got} == {r["problem_id"] for r in expected}
    assert sum(r["depth"] == 0 for r in got) == PROBLEMS
    assert got == expected
    assert sorted(p.name for p in (out / "nodes").iterdir()) == sorted(p.name for p in (uninterrupted / "nodes").iterdir())


def test_rerun_replays_from_the_cache_and_other_options_are_refused(uninterrupted, tiny_policy_spec, tmp_path, capsys):
    out = tmp_path / "rerun"
    first = generate(_generate_argv(tiny_policy_spec, out))
    assert first["metrics"]["cache"]["policy"]["hits"] == 0
    # Same options, finished parts removed: every engine call replays from the cache.
    for part in (out / "_parts" / "nodes").glob("*.parquet"):
        part.unlink()
    again = generate(_generate_argv(tiny_policy_spec, out))
    assert again["metrics"]["cache"]["policy"]["misses"] == 0 < again["metrics"]["cache"]["policy"]["hits"]
    assert "request cache: policy" in again["text"]
    order = "problem_id, path"
    assert _table(f"{out}/nodes/*.parquet", order) == _table(f"{uninterrupted}/nodes/*.parquet", order)
    # Same options, parts kept: nothing is searched again.
    third = generate(_generate_argv(tiny_policy_spec, out))
    assert third["metrics"]["resume"]["trees_resumed"] == PROBLEMS and "policy" not in third["metrics"]["cache"]
    assert _table(f"{out}/nodes/*.parquet", order) == _table(f"{uninterrupted}/nodes/*.parquet", order)

    capsys.readouterr()
    assert_one_error_line(generate, [*_generate_argv(tiny_policy_spec, out), "--seed", "7"], "give --overwrite", capsys)
    generate([*_generate_argv(tiny_policy_spec, out), "--seed", "7", "--overwrite"])
    run_ids = pq.read_table(f"{out}/nodes").column("run_id").unique().to_pylist()
    assert len(run_ids) == 1 and run_ids != pq.read_table(f"{uninterrupted}/nodes").column("run_id").unique().to_pylist()
