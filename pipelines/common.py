"""Driver-side helpers shared by pipelines: errors, metrics, manifests, code version."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter

from schemas import MANIFEST_V1
from transforms.shards import shard_name, write_table


class UsageError(Exception):
    """A problem with the user's arguments or input: printed as one line, exit status 2."""


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def counters(result, namespace: str = "treemill") -> dict[str, int]:
    """Final values of the pipeline's counters in ``namespace``."""
    values: dict[str, int] = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + int(value or 0)
    return values


def code_version() -> str:
    """treemill's version plus the git commit of the checkout, when there is one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = f"treemill {version('treemill')}"
    except PackageNotFoundError:
        text = "treemill (not installed)"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        text += f" @ {commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    return text


def write_manifest(output: str, row: dict) -> None:
    """The run manifest as Parquet (schema ``manifest/v1``) and as JSON for people."""
    row = {**row, "created_at": datetime.now(timezone.utc), "code_version": code_version()}
    write_table(pa.Table.from_pylist([row], schema=MANIFEST_V1),
                FileSystems.join(output, "manifest", shard_name("manifest", 0, 1)))
    with FileSystems.create(FileSystems.join(output, "manifest.json")) as handle:
        handle.write(json.dumps({**row, "created_at": row["created_at"].isoformat()}, indent=2).encode())
