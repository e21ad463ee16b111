"""What a rerun of the demo costs: resume from committed parts, and replay from the request cache.

    python bench/rerun_bench.py [--output /tmp/rerun-bench] [generate options ...]

Runs ``generate --demo`` (the README's main job) into a fresh folder, then
  1. the same command again: every problem is already committed, nothing is searched;
  2. the same command after deleting the committed parts (``_parts/nodes``): every problem is
     searched again, and every engine call is answered by the request cache;
and for each rerun checks that the node table equals the first run's, byte for byte in every
column but ``created_at`` (the wall-clock time a node was made), then labels and exports each
folder and compares the exported datasets the same way. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.export import run as export  # noqa: E402
from pipelines.generate import run as generate  # noqa: E402
from pipelines.label import run as label  # noqa: E402


def _rows(pattern: str, order: str) -> list[tuple]:
    return duckdb.sql(f"SELECT * EXCLUDE (created_at) FROM read_parquet('{pattern}') ORDER BY {order}").fetchall()


def _dataset(folder: Path) -> dict[str, list[tuple]]:
    tables = {}
    for config in sorted(p for p in (folder / "data").iterdir() if any(p.glob("*.parquet"))):
        columns = [c for c, in duckdb.sql(f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('{config}/*.parquet'))").fetchall()]
        keep = ", ".join(f'"{c}"' for c in columns if c not in ("created_at", "label_run_id"))
        tables[config.name] = sorted(duckdb.sql(f"SELECT {keep} FROM read_parquet('{config}/*.parquet')").fetchall(), key=repr)
    return tables


def _label_and_export(run: Path) -> dict[str, list[tuple]]:
    label(["--shards", str(run)])
    export(["--shards", str(run), "--output", str(run.parent / f"{run.name}-dataset"), "--no-plots"])
    return _dataset(run.parent / f"{run.name}-dataset")


def _timed(argv: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = generate(argv)
    return time.perf_counter() - start, summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="/tmp/rerun-bench")
    args, extra = parser.parse_known_args(argv)
    root = Path(args.output)
    shutil.rmtree(root, ignore_errors=True)
    first_dir, cached_dir = root / "first", root / "cached"
    command = ["--demo", "--no-progress", *extra]

    first_s, first = _timed([*command, "--output", str(first_dir)])
    reference_nodes = _rows(f"{first_dir}/nodes/*.parquet", "problem_id, path")
    resumed_s, resumed = _timed([*command, "--output", str(first_dir)])
    resumed_nodes = _rows(f"{first_dir}/nodes/*.parquet", "problem_id, path")

    shutil.copytree(first_dir, cached_dir)  # the cache comes along (OUTPUT/cache); the parts go
    shutil.rmtree(cached_dir / "_parts" / "nodes")
    cached_s, cached = _timed([*command, "--output", str(cached_dir)])
    cached_nodes = _rows(f"{cached_dir}/nodes/*.parquet", "problem_id, path")
    policy = cached["metrics"]["cache"].get("policy", {})

    reference_dataset, cached_dataset = _label_and_export(first_dir), _label_and_export(cached_dir)
    print("| run | wall (s) | trees searched | policy cache hits / misses | node table equal | dataset equal |")
    print("|---|---:|---:|---|:---:|:---:|")
    print(f"| first run | {first_s:.1f} | {first['counts']['searched']} | - | - | - |")
    print(f"| same command again (resume) | {resumed_s:.1f} | {resumed['counts']['searched']} | "
          f"{resumed['metrics']['cache'].get('policy', {}).get('hits', 0)} / {resumed['metrics']['cache'].get('policy', {}).get('misses', 0)} | "
          f"{resumed_nodes == reference_nodes} | - |")
    print(f"| parts deleted (cache replay) | {cached_s:.1f} | {cached['counts']['searched']} | "
          f"{policy.get('hits', 0)} / {policy.get('misses', 0)} | {cached_nodes == reference_nodes} | "
          f"{cached_dataset == reference_dataset} |")
    print(f"\n{len(reference_nodes)} nodes; dataset configs compared: {', '.join(reference_dataset)}")


if __name__ == "__main__":
    main()
