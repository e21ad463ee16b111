"""Checks that label and export read one finished run, never a stale mix of runs.

generate claims its output folder with ``_parts/run.json`` at start and writes ``manifest.json``
last; label removes its ``label/manifest.json`` at start and writes it last. So a folder whose
marker and manifest disagree holds an interrupted run, and rows whose run ids differ from the
manifest's are left over from another run. Combining several generate runs is allowed only when
asked (``--combine-runs``); the label manifest and the dataset card then name each run.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.common import UsageError
from transforms.io.resume import read_marker


def _manifest(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _distinct(folder: Path, table: str, column: str) -> list[str]:
    pattern = str(folder / table / "*.parquet").replace("'", "''")
    return [r[0] for r in duckdb.sql(f"SELECT DISTINCT {column} FROM read_parquet('{pattern}') "
                                     f"WHERE {column} IS NOT NULL ORDER BY 1").fetchall()]


def check_generate_run(shards: str, combine: bool) -> list[str]:
    """The generate run ids of the trees in ``shards``; UsageError for an unfinished or mixed run."""
    folder = Path(shards)
    marker, manifest = read_marker(shards), _manifest(folder / "manifest.json")
    if marker and (manifest is None or manifest.get("run_id") != marker.get("run_id")):
        raise UsageError(f"the generate run {marker.get('run_id')} in {shards} is not finished (no manifest.json for it): "
                         "rerun the same generate command to resume it")
    ids = _distinct(folder, "nodes", "run_id")
    if combine:
        return ids
    if len(ids) > 1:
        raise UsageError(f"{shards}/nodes holds trees of {len(ids)} generate runs ({', '.join(ids)}); "
                         "give --combine-runs to use them together (each run is then named in the manifest and card)")
    if manifest and ids and manifest.get("run_id") not in ids:
        raise UsageError(f"{shards}/nodes holds run {ids[0]} but {shards}/manifest.json names run {manifest.get('run_id')}: "
                         "the folder mixes two runs; rerun generate with --overwrite")
    return ids


def check_label_run(labels: str, tables: tuple[str, ...], tree_run_ids: list[str]) -> dict:
    """The finished label run in ``labels`` (its manifest); UsageError if it is unfinished, mixed, or
    labels other trees than ``tree_run_ids``."""
    folder = Path(labels)
    manifest = _manifest(folder / "label" / "manifest.json")
    if manifest is None:
        raise UsageError(f"no finished label run in {labels} (label/manifest.json is missing): run python -m pipelines.label first")
    for table in tables:
        found = _distinct(folder, table, "label_run_id")
        if found and found != [manifest["run_id"]]:
            raise UsageError(f"{labels}/{table} holds label run(s) {', '.join(found)} but label/manifest.json names "
                             f"{manifest['run_id']}: rerun python -m pipelines.label")
    stale = sorted(set(_distinct(folder, "steps", "run_id")) - set(tree_run_ids))
    if stale:
        raise UsageError(f"the labels in {labels} are of generate run(s) {', '.join(stale)}, but the trees in --shards are of "
                         f"{', '.join(tree_run_ids) or 'no run'}: relabel these trees (python -m pipelines.label)")
    return manifest
