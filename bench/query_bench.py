"""Query benchmark: every query in queries/ over a 1M-node table that this script builds itself.

The table is synthetic but shaped like stored trees: ``--problems`` trees (default 8,000), each with
a root, 4 first steps, 3 children per step down to depth 3 and 2 leaves under each of those
(1 + 4 + 12 + 36 + 72 = 125 nodes: 1,000,000 in all), written as one Parquet file in nodes/v1 with
~120-character steps. Leaves are terminal, a third of them correct. The label tables the label
queries need (steps, pairs) are derived from it in the same run (steps: every non-root node with a
Q; pairs: one per internal node), plus a small dead_letters table.

Each query runs ``--repeat`` times through ``queries.connect`` (views over the Parquet files, as
``python -m queries`` does) and its result is fetched whole; the best and median wall times are
reported. Goal: under 2 s each.

Run from the repo root: ``python bench/query_bench.py [--markdown]`` (a minute or two on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries import available, connect, load_sql  # noqa: E402
from schemas import DEAD_LETTERS_V1, NODES_V1, PAIRS_V1, STEPS_V1  # noqa: E402

BRANCHING = (4, 3, 3, 2)  # children per node at depth 0, 1, 2, 3: 125 nodes per tree
DUCK_TYPES = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.float64(): "DOUBLE",
              pa.bool_(): "BOOLEAN", pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ", pa.list_(pa.string()): "VARCHAR[]"}


def tree_shape() -> list[tuple[str, str | None, int]]:
    """(path, parent path, depth) of one tree, root first."""
    shape, level = [("", None, 0)], [""]
    for depth, children in enumerate(BRANCHING, start=1):
        nxt = []
        for parent in level:
            for index in range(children):
                path = f"{parent}.{index}" if parent else str(index)
                shape.append((path, parent, depth))
                nxt.append(path)
        level = nxt
    return shape


def select_for(schema: pa.Schema, values: dict[str, str]) -> str:
    """A SELECT list with every column of ``schema`` in order: the given SQL or a typed NULL."""
    return ",\n".join(f"({values[f.name]})::{DUCK_TYPES[f.type]} AS {f.name}" if f.name in values
                      else f"NULL::{DUCK_TYPES[f.type]} AS {f.name}" for f in schema)


def build(folder: Path, problems: int) -> int:
    con = duckdb.connect()
    shape = pa.Table.from_pylist([{"path": p, "parent_path": pp, "depth": d} for p, pp, d in tree_shape()])
    con.register("shape", shape)
    leaf_depth = len(BRANCHING)
    con.execute(f"""CREATE TEMP TABLE base AS
        SELECT printf('p%07d', i) AS problem_id, s.path, s.parent_path, s.depth, (hash(i, s.path) % 1000000)::BIGINT AS h
        FROM range({problems}) r(i), shape s""")
    nodes = select_for(NODES_V1, {
        "run_id": "'bench0000000'", "problem_id": "problem_id", "node_id": "left(md5(problem_id || '/' || path), 16)",
        "parent_id": "CASE WHEN parent_path IS NULL THEN NULL ELSE left(md5(problem_id || '/' || parent_path), 16) END",
        "path": "path", "depth": "depth",
        "step_text": "CASE WHEN depth = 0 THEN '' ELSE 'Step ' || path || ': so the total is ' || (h % 997) || ' apples; "
                     "each box holds ' || (h % 13) || ' more. ' || md5(path || problem_id) END",
        "step_kind": f"CASE WHEN depth = 0 THEN 'root' WHEN depth = {leaf_depth} THEN 'answer' ELSE 'text' END",
        "is_terminal": f"depth = {leaf_depth}", "finish_reason": "CASE WHEN depth = 0 THEN NULL ELSE 'stop' END",
        "extracted_answer": f"CASE WHEN depth = {leaf_depth} THEN (h % 50)::VARCHAR END",
        "extraction_method": f"CASE WHEN depth = {leaf_depth} THEN 'boxed' END",
        "verdict": f"CASE WHEN depth = {leaf_depth} THEN h % 3 = 0 END",
        "verdict_method": f"CASE WHEN depth = {leaf_depth} THEN 'numeric' END", "verifier": "'math-verify/1'",
        "visits": "1 + h % 9", "value_sum": "((h % 200) - 100) / 100.0", "q_value": "((h % 200) - 100) / 100.0",
        "prior": "0.25", "prior_logprob": "-(h % 50) / 10.0", "num_tokens": "CASE WHEN depth = 0 THEN NULL ELSE 20 + h % 40 END",
        "prompt_tokens": "100 + depth * 40", "model_id": "'bench-model'", "search": "'mcts-alphamath'",
        "search_config_hash": "'0123456789abcdef'", "created_at": "TIMESTAMPTZ '2026-01-01 00:00:00+00'"})
    for table in ("nodes", "steps", "pairs", "dead_letters"):
        (folder / table).mkdir(parents=True)
    con.execute(f"COPY (SELECT {nodes} FROM base ORDER BY problem_id, path) TO '{folder}/nodes/nodes-00000-of-00001.parquet' "
                "(FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"CREATE TEMP VIEW n AS SELECT * FROM '{folder}/nodes/*.parquet'")
    steps = select_for(STEPS_V1, {
        "label_run_id": "'label0000000'", **{c: c for c in ("run_id", "problem_id", "node_id", "parent_id", "path", "depth",
                                                              "step_text", "step_kind", "is_terminal", "verdict",
                                                              "verdict_method", "num_tokens", "verifier")},
        "completions": "1", "correct_completions": "verdict::INT", "q_search": "q_value", "q_terminal": "q_value",
        "q": "q_value", "label": "(q_value + 1) / 2", "label_source": "'q'"})
    con.execute(f"COPY (SELECT {steps} FROM n WHERE depth > 0 ORDER BY problem_id, path) "
                f"TO '{folder}/steps/steps-00000-of-00001.parquet' (FORMAT parquet, COMPRESSION zstd)")
    pairs = select_for(PAIRS_V1, {
        "label_run_id": "'label0000000'", "run_id": "run_id", "problem_id": "problem_id",
        "pair_id": "left(md5(node_id || 'pair'), 16)", "kind": "CASE WHEN depth % 2 = 0 THEN 'ppm' ELSE 'sibling' END",
        "branch_node_id": "node_id", "depth": "depth + 1", "question": "'How many apples?'", "prefix": "[step_text]",
        "chosen": "step_text || ' chosen'", "rejected": "step_text || ' rejected'", "chosen_node_id": "node_id",
        "rejected_node_id": "node_id", "chosen_q": "0.5", "rejected_q": "-0.5", "margin": "1.0", "edit_distance": "9",
        "verifier": "verifier"})
    con.execute(f"COPY (SELECT {pairs} FROM n WHERE NOT is_terminal ORDER BY problem_id) "
                f"TO '{folder}/pairs/pairs-00000-of-00001.parquet' (FORMAT parquet, COMPRESSION zstd)")
    dead = select_for(DEAD_LETTERS_V1, {"stage": "'search'", "reason": "'timeout'", "record_id": "printf('d%05d', i)",
                                        "record": "'{}'"})
    con.execute(f"COPY (SELECT {dead} FROM range(100) r(i)) TO '{folder}/dead_letters/dead_letters-00000-of-00001.parquet' "
                "(FORMAT parquet)")
    return con.execute("SELECT count(*) FROM n").fetchone()[0]


def time_queries(folder: Path, repeat: int, only: list[str] | None = None, baseline: Path | None = None) -> list[dict]:
    """Time each query; with ``baseline`` (a folder of older .sql files), time its version of the
    same query right after, so the two are measured under the same load."""
    results = []
    for name in only or available():
        versions = [("queries/", load_sql(name))]
        if baseline is not None and (baseline / f"{name}.sql").exists():
            versions.append((str(baseline), (baseline / f"{name}.sql").read_text()))
        for source, sql in versions:
            times, rows = [], 0
            for _ in range(repeat):
                con = connect(str(folder))
                start = time.perf_counter()
                rows = len(con.sql(sql).fetchall())
                times.append(time.perf_counter() - start)
                con.close()
            results.append({"query": name, "sql": source, "best_s": min(times), "median_s": statistics.median(times),
                            "rows": rows})
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=8000, help="trees of 125 nodes (default 8000: 1,000,000 nodes)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, all cores)")
    parser.add_argument("--markdown", action="store_true", help="print a table for docs/benchmarks.md")
    parser.add_argument("--only", action="append", help="time only this query (repeatable)")
    parser.add_argument("--baseline", type=Path, help="folder of older .sql files to time beside queries/ (e.g. a checkout of main)")
    parser.add_argument("--keep", metavar="DIR", help="build the table in DIR and keep it; reuse it if it is there")
    args = parser.parse_args(argv)
    if args.threads:
        duckdb.execute(f"SET GLOBAL threads = {args.threads}")
    with tempfile.TemporaryDirectory(prefix="treemill-query-bench-") as tmp:
        folder = Path(args.keep or tmp)
        if not (folder / "nodes").exists():
            start = time.perf_counter()
            nodes = build(folder, args.problems)
            size = sum(p.stat().st_size for p in folder.glob("*/*.parquet"))
            print(f"built {nodes:,} nodes ({args.problems:,} trees), {size / 1e6:.0f} MB of Parquet, "
                  f"in {time.perf_counter() - start:.1f} s")
        results = time_queries(folder, args.repeat, args.only, args.baseline)
    if args.markdown:
        print("| query | SQL | best of %d (s) | median (s) | rows | < 2 s |" % args.repeat)
        print("|---|---|---:|---:|---:|:---:|")
        for r in results:
            print(f"| {r['query']} | {r['sql']} | {r['best_s']:.2f} | {r['median_s']:.2f} | {r['rows']:,} | "
                  f"{'yes' if r['median_s'] < 2 else 'no'} |")
    else:
        for r in results:
            print(f"{r['query']:>20} ({r['sql']}): best {r['best_s']:.2f} s, median {r['median_s']:.2f} s, {r['rows']:,} rows")


if __name__ == "__main__":
    main()
