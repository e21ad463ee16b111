"""view: stored trees -> a static site to look at them, offline, straight from the file system.

    read nodes/ problems/ (+ steps/ pairs/ of a label run) -> one page per tree -> index.html

    SITE/index.html          every problem: solved?, nodes, leaves, tokens, best Q (sortable columns)
    SITE/trees/NNNNN.html    one tree as collapsible nodes: step text, Q / visits / prior / value
                             estimate, verdict colours, code and its output, the path to every correct
                             answer highlighted, and (after a label run) preference-pair markers
    SITE/assets/             viewer.css, viewer.js (no CDN, no server: open index.html in a browser)

Each tree page carries its tree as JSON inside the page (browsers do not let file:// pages fetch
files) and renders a node's children only when it is opened, so trees of thousands of nodes stay
quick. ``export`` writes the same site into its folder as viewer/.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from pathlib import Path

import duckdb

from pipelines.common import OneLineParser, UsageError, fail, parse_pipeline_args
from transforms.search.tree import parse_path

ASSETS = Path(__file__).parent / "viewer"
NODE_COLUMNS = ("problem_id", "node_id", "parent_id", "path", "step_text", "step_kind", "code", "exec_status",
                "exec_output", "is_terminal", "finish_reason", "extracted_answer", "verdict", "verdict_method",
                "visits", "q_value", "value_estimate", "prior", "num_tokens")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.view", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", help="output folder of a generate run (nodes/, problems/)")
    parser.add_argument("--labels", help="output folder of a label run, for label Q and pair markers "
                                         "(default: --shards when it holds steps/ and pairs/)")
    parser.add_argument("--output", help="folder for the site (index.html, trees/, assets/); replaced")
    parser.add_argument("--title", default="treemill trees", help="title of the index page")
    return parser


def _parquet(folder: Path, table: str) -> str | None:
    """read_parquet() over a table's shards, or None when the folder has none."""
    if not any((folder / table).glob("*.parquet")):
        return None
    return "read_parquet('{}', union_by_name=true)".format(str(folder / table / "*.parquet").replace("'", "''"))


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def load(shards: Path, labels: Path | None) -> tuple[list[dict], dict[str, list[dict]], dict[str, dict], dict[str, list]]:
    """(problems, nodes by problem, label Q by node id, pair markers by node id)."""
    nodes_sql, problems_sql = _parquet(shards, "nodes"), _parquet(shards, "problems")
    if nodes_sql is None:
        raise UsageError(f"no nodes shards under {shards}/nodes (is --shards the output folder of a generate run?)")
    con = duckdb.connect()
    nodes: dict[str, list[dict]] = {}
    for row in _rows(con, f"SELECT {', '.join(NODE_COLUMNS)} FROM {nodes_sql}"):
        nodes.setdefault(row["problem_id"], []).append(row)
    problems = {}
    if problems_sql:
        problems = {r["problem_id"]: r for r in _rows(con, f"SELECT problem_id, question, gold_answer FROM {problems_sql}")}
    label_q, pairs = {}, {}
    steps_sql, pairs_sql = (_parquet(labels, t) if labels else None for t in ("steps", "pairs"))
    if steps_sql:
        label_q = dict(con.execute(f"SELECT node_id, q FROM {steps_sql} WHERE q IS NOT NULL").fetchall())
    if pairs_sql:
        for kind, chosen, rejected, margin in con.execute(
                f"SELECT kind, chosen_node_id, rejected_node_id, margin FROM {pairs_sql} ORDER BY pair_id").fetchall():
            pairs.setdefault(chosen, []).append([kind, "chosen", margin])
            pairs.setdefault(rejected, []).append([kind, "rejected", margin])
    listed = [{"problem_id": pid, "question": problems.get(pid, {}).get("question"),
               "gold_answer": problems.get(pid, {}).get("gold_answer")} for pid in sorted(nodes)]
    return listed, nodes, label_q, pairs


def tree_json(problem: dict, rows: list[dict], label_q: dict, pairs: dict) -> dict:
    """The tree in the page's compact form: nodes in path order, each with its parent's index.

    ``ok`` marks nodes on the path to a correct answer (a correct leaf and its ancestors). A node
    whose parent row is missing hangs under the root with ``orphan`` set, so nothing is hidden.
    """
    rows = sorted(rows, key=lambda r: parse_path(r["path"]))
    index = {r["node_id"]: i for i, r in enumerate(rows)}
    root = next((i for i, r in enumerate(rows) if r["parent_id"] is None), None)
    nodes = []
    for i, r in enumerate(rows):
        parent = index.get(r["parent_id"]) if r["parent_id"] is not None else None
        node = {"id": r["node_id"], "path": r["path"], "p": parent, "text": r["step_text"], "kind": r["step_kind"],
                "term": bool(r["is_terminal"]), "verdict": r["verdict"], "method": r["verdict_method"],
                "answer": r["extracted_answer"], "finish": r["finish_reason"], "n": r["visits"], "q": r["q_value"],
                "v": r["value_estimate"], "prior": r["prior"], "tok": r["num_tokens"], "lq": label_q.get(r["node_id"]),
                "code": r["code"], "exec": r["exec_status"], "out": r["exec_output"], "pairs": pairs.get(r["node_id"], [])}
        if r["parent_id"] is not None and parent is None:
            node["p"], node["orphan"] = root, True
        nodes.append({k: v for k, v in node.items() if v not in (None, [], False) or k in ("p", "verdict")})
    for i, r in enumerate(rows):
        if r["is_terminal"] and r["verdict"]:
            j = i
            while j is not None and not nodes[j].get("ok"):
                nodes[j]["ok"] = True
                j = nodes[j]["p"]
    return {"problem_id": problem["problem_id"], "question": problem["question"], "gold": problem["gold_answer"],
            "nodes": nodes}


def summary_row(problem: dict, rows: list[dict], label_q: dict) -> dict:
    qs = [r["q_value"] for r in rows if r["q_value"] is not None] or [label_q[r["node_id"]] for r in rows if r["node_id"] in label_q]
    leaves = [r for r in rows if r["is_terminal"]]
    return {"problem_id": problem["problem_id"], "question": problem["question"] or "",
            "solved": any(r["verdict"] for r in leaves), "nodes": len(rows), "leaves": len(leaves),
            "correct": sum(1 for r in leaves if r["verdict"]), "tokens": sum(r["num_tokens"] or 0 for r in rows),
            "best_q": max(qs) if qs else None}


def _script_json(value) -> str:
    """JSON safe inside <script>: '</' cannot end the element, U+2028/9 cannot end a JS line."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _page(title: str, body: str, data: dict, depth: int) -> str:
    up = "../" * depth
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="{up}assets/viewer.css"></head>
<body>{body}
<script type="application/json" id="data">{_script_json(data)}</script>
<script src="{up}assets/viewer.js"></script></body></html>
"""


def write_site(shards: Path, output: Path, labels: Path | None = None, title: str = "treemill trees") -> dict:
    """Write the site; returns {"index": path, "trees": count, "nodes": count}."""
    if labels is None and _parquet(shards, "pairs"):
        labels = shards
    problems, nodes, label_q, pairs = load(shards, labels)
    shutil.rmtree(output / "trees", ignore_errors=True)
    (output / "trees").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ASSETS, output / "assets", dirs_exist_ok=True)
    index_rows = []
    for number, problem in enumerate(problems, start=1):
        rows = nodes[problem["problem_id"]]
        page = f"trees/{number:05d}.html"
        data = tree_json(problem, rows, label_q, pairs)
        data["labels"] = labels is not None
        body = ('<header><a href="../index.html">&larr; all problems</a> <h1 id="title"></h1></header>'
                '<main id="tree"></main>')
        (output / page).write_text(_page(f"{problem['problem_id']} - treemill", body, data, 1), encoding="utf-8")
        index_rows.append({**summary_row(problem, rows, label_q), "page": page})
    body = f'<header><h1>{html.escape(title)}</h1></header><main id="index"></main>'
    meta = {"kind": "index", "title": title, "shards": str(shards), "labels": str(labels) if labels else None,
            "problems": index_rows}
    (output / "index.html").write_text(_page(title, body, meta, 0), encoding="utf-8")
    return {"index": str(output / "index.html"), "trees": len(index_rows), "nodes": sum(len(v) for v in nodes.values())}


def run(argv=None) -> dict:
    """Run view; returns what was written (also printed)."""
    try:
        args, _ = parse_pipeline_args(build_parser(), argv, beam=False)
        if not args.shards or not args.output:
            raise UsageError("--shards and --output are required")
        labels = Path(args.labels) if args.labels else None
        result = write_site(Path(args.shards), Path(args.output), labels, args.title)
    except UsageError as err:
        fail(str(err))
    print(f"treemill view: {result['index']}\n  trees {result['trees']}, nodes {result['nodes']}; "
          f"open it in a browser (it needs no server)")
    return result


if __name__ == "__main__":
    run(sys.argv[1:])
