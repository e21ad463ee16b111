"""Crash-safe output for generate: one committed part file per finished problem, and the run marker.

While a run goes on, every problem's outcome is committed as soon as the search yields it:

    OUTPUT/_parts/run.json                         run id and options of the run these parts belong to
    OUTPUT/_parts/nodes/part-<key>.parquet         the problem's tree (nodes/v1 rows)
    OUTPUT/_parts/dead_letters/part-<key>.parquet  or the reason its search failed

``<key>`` is a hash of the problem id: the name says which problem the file holds, so a retried
bundle rewrites the same file with the same rows, and a resumed run learns what is finished from a
directory listing. Files are written under a temporary name and renamed (``shards.write_table``),
so a kill -9 leaves whole parts or none. The final shards (nodes/, dead_letters/) are rebuilt from
the parts of earlier attempts plus this one's; the manifest is written last and marks the run done.
"""

from __future__ import annotations

import hashlib
import json

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.io.shards import write_table

PARTS = "_parts"
MARKER = "run.json"
PART_TABLES = ("nodes", "dead_letters")


class RunMismatch(Exception):
    """The output folder holds (part of) a run made with other options."""


def part_key(problem_id: str) -> str:
    return hashlib.sha256(problem_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def part_name(problem_id: str) -> str:
    return f"part-{part_key(problem_id)}.parquet"


def parts_dir(output: str, table: str) -> str:
    return FileSystems.join(output, PARTS, table)


def _match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def committed_parts(output: str, table: str) -> list[str]:
    """Paths of whole part files (half-written ``.tmp-*`` files never match)."""
    return _match(FileSystems.join(parts_dir(output, table), "part-*.parquet"))


def finished_keys(output: str) -> frozenset[str]:
    """Part keys of every problem with a committed tree or search dead letter."""
    keys = set()
    for table in PART_TABLES:
        for path in committed_parts(output, table):
            keys.add(path.rsplit("/", 1)[-1][len("part-"):-len(".parquet")])
    return frozenset(keys)


def read_marker(output: str) -> dict | None:
    path = FileSystems.join(output, PARTS, MARKER)
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as handle:
        return json.loads(handle.read().decode())


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    with FileSystems.create(tmp) as handle:
        handle.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def start_run(output: str, run_id: str, config: dict, *, overwrite: bool, manifest_run_id: str | None) -> int:
    """Claim ``output`` for ``run_id``: refuse another run's folder unless ``overwrite`` (which deletes
    its parts), remove half-written files, and write the marker. Returns the number of finished problems."""
    marker = read_marker(output)
    other = (marker or {}).get("run_id") or manifest_run_id
    if other and other != run_id and not overwrite:
        raise RunMismatch(
            f"{output} holds run {other}, made with other options (this one is {run_id}); resuming would mix "
            f"two runs: give --overwrite to replace it, or another --output")
    if overwrite or (other and other != run_id):
        delete_parts(output)
    stale = _match(FileSystems.join(output, PARTS, "*", "*.tmp-*"))
    if stale:
        FileSystems.delete(stale)
    marker_path = FileSystems.join(output, PARTS, MARKER)
    _write_atomic(marker_path, json.dumps({"run_id": run_id, "config": config}, sort_keys=True, indent=2,
                                          default=str).encode())
    return len(finished_keys(output))


def delete_parts(output: str) -> None:
    files = [p for table in PART_TABLES for p in _match(FileSystems.join(parts_dir(output, table), "*"))]
    files += _match(FileSystems.join(output, PARTS, MARKER))
    if files:
        FileSystems.delete(files)


class CommitParts(beam.DoFn):
    """(problem_id, [rows]) -> writes the problem's part file, then passes the element on."""

    def __init__(self, directory: str, schema: pa.Schema, sort_keys: tuple[str, ...]):
        self.directory, self.schema, self.sort_keys = directory, schema, sort_keys
        self.committed = Metrics.counter("treemill", "parts_committed")

    def process(self, element):
        problem_id, rows = element
        rows = sorted(rows, key=lambda r: tuple("" if r[k] is None else r[k] for k in self.sort_keys))
        write_table(pa.Table.from_pylist(rows, schema=self.schema),
                    FileSystems.join(self.directory, part_name(problem_id)))
        self.committed.inc()
        yield element


class ReadParts(beam.PTransform):
    """The rows of the part files committed before this run started, keyed for ``WriteShards``.

    Takes an explicit file list (made when the pipeline is built), never a glob: this run's own
    parts appear while it runs and must not be read twice.
    """

    def __init__(self, paths: list[str], key_field: str, counter: str, count_if=None):
        super().__init__()
        self.paths, self.key_field, self.counter, self.count_if = list(paths), key_field, counter, count_if

    def expand(self, pbegin):
        key_field, counted = self.key_field, _Count(self.counter, self.count_if)
        return (pbegin
                | "PartFiles" >> beam.Create(self.paths)
                | "ReadPartFiles" >> beam.io.ReadAllFromParquet()
                | "KeyRows" >> beam.Map(lambda row: (row[key_field], [row]))
                | "CountResumed" >> beam.ParDo(counted))


class _Count(beam.DoFn):
    """Counts rows of earlier attempts into the run's counters (so counts still add up)."""

    def __init__(self, name: str, count_if=None):
        self.count_if = count_if
        self.counter = Metrics.counter("treemill", name)

    def process(self, element):
        if self.count_if is None or self.count_if(element[1][0]):
            self.counter.inc()
        yield element
