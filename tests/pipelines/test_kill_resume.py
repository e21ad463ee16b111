"""Kill tests: generate, label and export run as subprocesses, are killed with SIGKILL at 5 seeded
random points, resumed each time, and must end with exactly the tables of an uninterrupted run.

generate runs on the real vLLM engine with the tiny model (step-level search, a few problems); the
comparison is over the node table sorted by (problem_id, path), every column but ``created_at``
(the wall-clock time a node was made), plus: no duplicate node, no missing or extra tree.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.generate import DEMO_INPUT
from pipelines.export import run as export
from pipelines.generate import run as generate
from pipelines.label import run as label
from tests.cli import assert_one_error_line
from tests.tables import assert_same_rows
from tests.transforms.labels.hand_trees import write_hand_trees

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
    assert_same_rows(got, expected)  # the kills changed which problems shared a batch
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

    # Other options: refused, then --overwrite starts a new run. The changed option is a search
    # parameter, not the seed: a new seed would start a second in-process engine, and tearing that one
    # down would take vLLM's process-wide parallel state from the shared engine with it.
    capsys.readouterr()
    other = [*_generate_argv(tiny_policy_spec, out), "--search-param", "max_depth=2"]
    assert_one_error_line(generate, other, "give --overwrite", capsys)
    generate([*other, "--overwrite"])
    run_ids = pq.read_table(f"{out}/nodes").column("run_id").unique().to_pylist()
    assert len(run_ids) == 1 and run_ids != pq.read_table(f"{uninterrupted}/nodes").column("run_id").unique().to_pylist()


def _kill_series(module: str, argv: list[str], seed: int, longest: float) -> int:
    """Start ``module`` and SIGKILL it at a seeded random moment, KILLS times; returns how many kills landed."""
    rng = random.Random(seed)
    return sum(_kill_at(_start(module, argv), lambda: True, rng.uniform(0.5, longest)) for _ in range(KILLS))


def _tables(folder: Path, names, order: dict[str, str]) -> dict[str, list[dict]]:
    return {name: _table(f"{folder}/{name}/*.parquet", order[name], exclude="") for name in names}


LABEL_ORDER = {"steps": "problem_id, path", "pairs": "problem_id, kind, pair_id", "sft": "problem_id, rank"}


@pytest.fixture(scope="module")
def labelled(uninterrupted, tmp_path_factory):
    out = tmp_path_factory.mktemp("labels")
    label(["--shards", str(uninterrupted), "--output", str(out)])
    return out


def test_label_killed_five_times_ends_with_the_uninterrupted_tables(uninterrupted, labelled, tmp_path):
    out = tmp_path / "labels"
    argv = ["--shards", str(uninterrupted), "--output", str(out)]
    landed = _kill_series("pipelines.label", argv, seed=14, longest=8.0)
    _finish(_start("pipelines.label", argv))
    assert landed >= 1
    assert _tables(out, LABEL_ORDER, LABEL_ORDER) == _tables(labelled, LABEL_ORDER, LABEL_ORDER)
    assert json.loads((out / "label" / "manifest.json").read_text())["run_id"] == \
        json.loads((labelled / "label" / "manifest.json").read_text())["run_id"]


def test_export_killed_five_times_ends_with_the_uninterrupted_dataset(uninterrupted, labelled, tmp_path):
    argv = ["--shards", str(uninterrupted), "--labels", str(labelled), "--no-plots"]
    export([*argv, "--output", str(tmp_path / "reference")])
    out = tmp_path / "killed"
    landed = _kill_series("pipelines.export", [*argv, "--output", str(out)], seed=15, longest=6.0)
    _finish(_start("pipelines.export", [*argv, "--output", str(out)]))
    assert landed >= 1
    configs = sorted(p.name for p in (tmp_path / "reference" / "data").iterdir())
    assert configs == sorted(p.name for p in (out / "data").iterdir())
    for config in configs:
        assert pq.read_table(out / "data" / config).to_pylist() == pq.read_table(tmp_path / "reference" / "data" / config).to_pylist()
    assert (out / "README.md").read_text() == (tmp_path / "reference" / "README.md").read_text()


def test_unfinished_or_mixed_runs_are_refused(uninterrupted, labelled, tmp_path, capsys):
    # A generate run that was killed: its marker names a run that has no manifest yet.
    unfinished = tmp_path / "unfinished"
    shutil.copytree(uninterrupted, unfinished)
    (unfinished / "manifest.json").unlink()
    assert_one_error_line(label, ["--shards", str(unfinished)], "is not finished", capsys)
    # Trees of two runs in one folder: refused unless asked to combine, then the manifest names both.
    mixed = tmp_path / "mixed"
    shutil.copytree(uninterrupted, mixed)
    write_hand_trees(mixed, broken=False)
    assert_one_error_line(label, ["--shards", str(mixed)], "--combine-runs", capsys)
    combined = label(["--shards", str(mixed), "--combine-runs"])
    capsys.readouterr()  # the combined run's own console lines are not the next command's error
    assert len(combined["source"]["run_id"].split(", ")) == 2
    # Labels of those trees exported with the original trees: stale, refused.
    assert_one_error_line(export, ["--shards", str(uninterrupted), "--labels", str(mixed), "--output", str(tmp_path / "x")],
                          "relabel these trees", capsys)
    # A label run killed before it finished leaves no label manifest: export refuses.
    killed = tmp_path / "killed-labels"
    shutil.copytree(labelled, killed)
    (killed / "label" / "manifest.json").unlink()
    assert_one_error_line(export, ["--shards", str(uninterrupted), "--labels", str(killed), "--output", str(tmp_path / "y")],
                          "no finished label run", capsys)
