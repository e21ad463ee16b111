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


def _table(pattern: str, order: str) -> list[dict]:
    """Rows of every shard matching ``pattern``, sorted, without the wall-clock column."""
    rel = duckdb.sql(f"SELECT * EXCLUDE (created_at) FROM read_parquet('{pattern}') ORDER BY {order}") \
        if "nodes" in pattern else duckdb.sql(f"SELECT * FROM read_parquet('{pattern}') ORDER BY {order}")
    return rel.arrow().to_pylist()


def _generate_argv(model: str, out: Path) -> list[str]:
    return ["--input", str(DEMO_INPUT), "--limit", str(PROBLEMS), "--output", str(out), "--model", model,
            "--max-model-len", "1024", "--kv-cache-gb", "0.25", *SEARCH]


def _parts(out: Path) -> int:
    folder = out / "_parts" / "nodes"
    return len(list(folder.glob("part-*.parquet"))) if folder.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_dir):
    """The reference: one uninterrupted generate run."""
    out = tmp_path_factory.mktemp("reference")
    _finish(_start("pipelines.generate", _generate_argv(tiny_model_dir, out)))
    return out


def test_generate_killed_five_times_ends_with_the_uninterrupted_node_table(uninterrupted, tiny_model_dir, tmp_path):
    out = tmp_path / "killed"
    rng = random.Random(13)
    killed_after_progress = 0
    for _ in range(KILLS):
        # A kill point: during start-up or the first batch (k=0), or just after a batch committed (k=1).
        before, k = _parts(out), rng.choice([0, 1])
        delay = rng.uniform(2.0, 15.0) if k == 0 else rng.uniform(0.0, 2.0)
        proc = _start("pipelines.generate", _generate_argv(tiny_model_dir, out))
        killed = _kill_at(proc, lambda: _parts(out) >= before + k, delay)
        killed_after_progress += killed and _parts(out) > before
        assert not (out / "manifest.json").exists() or not killed  # a killed run never looks finished
    log = _finish(_start("pipelines.generate", _generate_argv(tiny_model_dir, out)))
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


def test_rerun_replays_from_the_cache_and_other_options_are_refused(uninterrupted, tiny_model_dir, tmp_path):
    out = tmp_path / "rerun"
    first = _finish(_start("pipelines.generate", _generate_argv(tiny_model_dir, out)))
    assert "request cache: policy 0/" in first
    # Same options, finished parts removed: every engine call replays from the cache.
    for part in (out / "_parts" / "nodes").glob("*.parquet"):
        part.unlink()
    again = _finish(_start("pipelines.generate", _generate_argv(tiny_model_dir, out)))
    assert "(100%)" in again.split("request cache:")[1].splitlines()[0]
    assert _table(f"{out}/nodes/*.parquet", "problem_id, path") == _table(f"{uninterrupted}/nodes/*.parquet", "problem_id, path")

    other = _start("pipelines.generate", [*_generate_argv(tiny_model_dir, out), "--seed", "7"])
    out_text, _ = other.communicate(timeout=600)
    assert other.returncode == 2 and "give --overwrite" in out_text
    _finish(_start("pipelines.generate", [*_generate_argv(tiny_model_dir, out), "--seed", "7", "--overwrite"]))
    assert pq.read_table(f"{out}/nodes").column("run_id").unique().to_pylist() != \
        pq.read_table(f"{uninterrupted}/nodes").column("run_id").unique().to_pylist()
