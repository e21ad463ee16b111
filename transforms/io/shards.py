"""Writing Parquet shards: group rows by a deterministic shard key, write each group from a DoFn.

Each shard is written under a temporary name and renamed into place, so readers never see half a
file and a rerun writes the same names. (Beam's WriteToParquet loses data on some runners, e.g.
Dask; an ordinary DoFn after a GroupByKey works on every runner.) Every writer passes its schema.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics


def shard_of(key: str, num_shards: int) -> int:
    """Stable shard index for ``key`` (SHA-1, not Python's salted hash)."""
    return int.from_bytes(hashlib.sha1(key.encode()).digest()[:8], "big") % num_shards


def shard_name(prefix: str, index: int, num_shards: int) -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.parquet"


def write_table(table: pa.Table, path: str) -> None:
    """Write ``table`` to ``path`` atomically (temporary name, then rename) on any Beam filesystem."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with FileSystems.create(tmp) as handle:
        handle.write(buffer.getvalue())
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


class WriteShard(beam.DoFn):
    """(shard index, iterable of row lists) -> one Parquet file; yields (path, row count)."""

    def __init__(self, directory: str, prefix: str, schema: pa.Schema, num_shards: int, sort_keys: tuple[str, ...]):
        self.directory, self.prefix, self.schema = directory, prefix, schema
        self.num_shards, self.sort_keys = num_shards, sort_keys
        self.rows_written = Metrics.counter("treemill", f"{prefix}_rows_written")

    def process(self, element: tuple[int, Iterable[list[dict]]]):
        index, groups = element
        rows = [row for group in groups for row in group]
        rows.sort(key=lambda r: tuple(_sortable(r[k]) for k in self.sort_keys))
        table = pa.Table.from_pylist(rows, schema=self.schema)
        path = FileSystems.join(self.directory, shard_name(self.prefix, index, self.num_shards))
        write_table(table, path)
        self.rows_written.inc(len(rows))
        yield path, len(rows)


def _sortable(value):
    return "" if value is None else value


class WriteShards(beam.PTransform):
    """Write PCollection of (key, [rows]) into ``num_shards`` Parquet files under ``directory``."""

    def __init__(self, directory: str, prefix: str, schema: pa.Schema, num_shards: int, sort_keys: tuple[str, ...]):
        super().__init__()
        self.args = (directory, prefix, schema, num_shards, sort_keys)

    def expand(self, keyed_rows):
        directory, prefix, schema, num_shards, sort_keys = self.args
        return (keyed_rows
                | "ShardKey" >> beam.Map(lambda kv: (shard_of(kv[0], num_shards), kv[1]))
                | "GroupByShard" >> beam.GroupByKey()
                | "WriteParquet" >> beam.ParDo(WriteShard(directory, prefix, schema, num_shards, sort_keys)))


def clear_shards(directory: str, prefix: str) -> None:
    """Remove earlier shards of ``prefix`` so a rerun leaves exactly this run's files."""
    pattern = FileSystems.join(directory, f"{prefix}-*-of-*.parquet*")
    stale = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    if stale:
        FileSystems.delete(stale)


class ReadTrees(beam.PTransform):
    """A generate run's folder -> (problem_id, {"nodes": [node rows], "problems": [problem rows]}).

    The problem rows carry only problem_id, question and gold_answer: what rebuilding and
    re-verifying a tree (``Tree.from_rows``) needs.
    """

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def expand(self, pbegin):
        nodes = (pbegin | "ReadNodes" >> beam.io.ReadFromParquet(f"{self.folder}/nodes/*.parquet")
                 | "KeyNodes" >> beam.Map(lambda row: (row["problem_id"], row)))
        problems = (pbegin | "ReadProblems" >> beam.io.ReadFromParquet(
                        f"{self.folder}/problems/*.parquet", columns=["problem_id", "question", "gold_answer"])
                    | "KeyProblems" >> beam.Map(lambda row: (row["problem_id"], row)))
        return {"nodes": nodes, "problems": problems} | "GroupByProblem" >> beam.CoGroupByKey()
