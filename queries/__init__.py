"""DuckDB SQL over treemill shards. Each ``NAME.sql`` here is a query over the views
``nodes``, ``problems`` and ``dead_letters`` (and later derived tables) of one output folder.

    python -m queries NAME --shards DIR      # prints the result as a table
"""

from __future__ import annotations

from pathlib import Path

import duckdb

QUERY_DIR = Path(__file__).parent
TABLES = ("nodes", "problems", "dead_letters", "manifest")


def available() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql"))


def connect(shards: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per table folder found under ``shards``."""
    root = Path(shards)
    if not root.is_dir():
        raise FileNotFoundError(f"no shard folder {shards!r}")
    con = duckdb.connect()
    found = False
    for table in sorted({p.parent.name for p in root.glob("*/*.parquet")}):
        pattern = str(root / table / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', union_by_name=true)")
        found = True
    if not found:
        raise FileNotFoundError(f"no Parquet shards under {shards!r} (expected {shards}/nodes/*.parquet)")
    return con


def load_sql(name: str) -> str:
    path = QUERY_DIR / f"{name}.sql"
    if not path.exists():
        raise KeyError(f"no query {name!r}; available: {', '.join(available())}")
    return path.read_text()


def run_query(name: str, shards: str, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    return (con or connect(shards)).sql(load_sql(name))
