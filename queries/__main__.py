"""python -m queries NAME --shards DIR: run a stored query and print its result table."""

from __future__ import annotations

import argparse
import sys

import duckdb

from queries import available, run_query


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries", description="Run a stored DuckDB query over treemill shards.")
    parser.add_argument("name", help=f"query name: {', '.join(available())}")
    parser.add_argument("--shards", required=True, help="output folder of a run (holds nodes/, problems/, ...)")
    parser.add_argument("--max-rows", type=int, default=50, help="rows to print (default 50)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    args = parser.parse_args(argv)
    try:
        relation = run_query(args.name, args.shards)
        if args.csv:
            _csv(relation)
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    except (KeyError, FileNotFoundError, duckdb.Error) as err:
        # str(KeyError) is the repr of its argument: print the message itself, without the quotes around it
        print(f"error: {err.args[0] if isinstance(err, KeyError) and err.args else err}", file=sys.stderr)
        return 2
    return 0


def _csv(relation) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(relation.columns)
    writer.writerows(relation.fetchall())


if __name__ == "__main__":
    raise SystemExit(main())
