"""Trainer input: treemill tables through ``datasets``, a problem-level split, and provenance.

A trainer reads either an export folder (``pipelines.export``: ``data/<config>/*.parquet``) or a
label-run folder (``pipelines.label``: ``<table>/*.parquet``, with the generate run's ``problems/``
beside it). Every file read is hashed, and the generate and label run ids found in the rows are
recorded, so the model card says exactly which data made the model.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Table:
    """One table as read: its rows (a ``datasets.Dataset``) and the files with their SHA-256."""

    name: str
    rows: datasets.Dataset
    files: tuple[tuple[str, str], ...]  # (path, sha256)


@dataclass
class Provenance:
    """What a model was trained on: data folder, files with hashes, generate and label run ids."""

    data: str
    files: list[tuple[str, str]] = field(default_factory=list)
    run_ids: set[str] = field(default_factory=set)
    label_run_ids: set[str] = field(default_factory=set)

    def add(self, table: Table) -> None:
        self.files.extend(table.files)
        columns = table.rows.column_names
        if "run_id" in columns:
            self.run_ids.update(table.rows.unique("run_id"))
        if "label_run_id" in columns:
            self.label_run_ids.update(table.rows.unique("label_run_id"))


def table_files(folder: str | Path, name: str) -> list[Path]:
    """The Parquet files of table ``name`` in an export folder or a label-run folder."""
    root = Path(folder)
    for candidate in (root / "data" / name, root / name):
        files = sorted(candidate.glob("*.parquet"))
        if files:
            return files
    raise FileNotFoundError(
        f"no {name!r} table under {root} (looked in data/{name}/ and {name}/): give an export folder "
        f"(python -m pipelines.export) or a label-run folder (python -m pipelines.label)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_table(folder: str | Path, name: str, cache_dir: str | Path, run_ids: tuple[str, ...] = (),
               provenance: Provenance | None = None) -> Table:
    """Read table ``name`` with ``datasets`` (Arrow cache in ``cache_dir``, never in the data folder);
    keep only label runs in ``run_ids`` (if given)."""
    files = table_files(folder, name)
    if all(pq.ParquetFile(f).metadata.num_rows == 0 for f in files):
        raise ValueError(f"the {name!r} table under {folder} has no rows (did the search find any? see the label summary)")
    rows = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train",
                                 cache_dir=str(cache_dir))
    if run_ids and "label_run_id" in rows.column_names:
        wanted = set(run_ids)
        rows = rows.filter(lambda r: r["label_run_id"] in wanted)
        if not len(rows):
            raise ValueError(f"no {name} rows with label_run_id in {sorted(wanted)}")
    table = Table(name, rows, tuple((str(f), _sha256(f)) for f in files))
    if provenance is not None:
        provenance.add(table)
    return table


def questions(folder: str | Path, cache_dir: str | Path, provenance: Provenance | None = None) -> dict[str, str]:
    """problem_id -> question, from the ``problems`` table."""
    table = load_table(folder, "problems", cache_dir, provenance=provenance)
    return dict(zip(table.rows["problem_id"], table.rows["question"]))


def split_problems(problem_ids, val_fraction: float, seed: int) -> tuple[set[str], set[str]]:
    """(train, validation) problem ids: no problem is in both.

    The problems are ordered by SHA-256 of ``seed:problem_id`` and the first
    ceil(val_fraction * n) go to validation (at least one when val_fraction > 0 and there are two
    or more problems), so the split depends only on the set of problems and the seed.
    """
    ids = sorted(set(problem_ids), key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    n_val = math.ceil(val_fraction * len(ids)) if val_fraction > 0 and len(ids) > 1 else 0
    n_val = min(n_val, len(ids) - 1) if ids else 0
    return set(ids[n_val:]), set(ids[:n_val])
