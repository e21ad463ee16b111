"""export: a labelled run -> a Hugging Face dataset folder, TRL-ready files and plots.

    OUTPUT/README.md                  dataset card (YAML configs, how it was made, counts, fields, plots)
    OUTPUT/data/<config>/*.parquet    trees, problems, steps, pairs, sft, trl_stepwise, trl_preference, trl_sft
    OUTPUT/plots/*.png                Q values, accuracy vs budget, pairs per problem
    OUTPUT/viewer/index.html          the trees as a static site (pipelines.view), opens offline

``datasets.load_dataset(OUTPUT, "pairs")`` loads a config; ``--push-to-hub REPO`` uploads the
folder with huggingface_hub (token from HF_TOKEN, never printed). Reads local folders: --shards
(the generate run: nodes/, problems/, manifest.json) and --labels (the label run: steps/, pairs/,
sft/, label/manifest.json; default --shards).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import HfApi

from pipelines.common import OneLineParser, UsageError, fail, parse_pipeline_args
from pipelines.label import TABLES
from pipelines.view import write_site
from pipelines.run_checks import check_generate_run, check_label_run
from queries import load_sql
from schemas import NODES_V1, PAIR_KINDS, PROBLEMS_V1, TRL_PREFERENCE_V1, TRL_SFT_V1, TRL_STEPWISE_V1
from transforms.labels import trl
from transforms.labels.card import CardFacts, Config, dataset_card
from transforms.labels.plots import write_plots
from transforms.io.shards import shard_name, write_table

DESCRIPTIONS = {
    "trees": "Every node of every stored search tree (nodes/v1); parent_id links rebuild the trees.",
    "problems": "The problems searched (problems/v1): question and gold answer; steps rows join on problem_id.",
    "steps": "One row per step with its labels: Q, Math-Shepherd, ReST-MCTS* and the float PRM label.",
    "pairs": "Preference pairs: rStar-Math PPM step pairs, sibling step pairs and full-solution pairs.",
    "sft": "Top-k correct traces per problem by mean Q, then min Q.",
    "trl_stepwise": "TRL stepwise supervision (PRMTrainer): one row per stored trace.",
    "trl_preference": "TRL preference pairs (DPOTrainer / RewardTrainer).",
    "trl_sft": "TRL conversational SFT data (SFTTrainer).",
}
SCHEMAS = {"trees": NODES_V1, "problems": PROBLEMS_V1, **{table: schema for table, (schema, _) in TABLES.items()},
           "trl_stepwise": TRL_STEPWISE_V1, "trl_preference": TRL_PREFERENCE_V1, "trl_sft": TRL_SFT_V1}
PLOTS = {"q_values.png": "Q of intermediate and final steps by correctness",
         "accuracy_vs_budget.png": "Accuracy vs search budget (pass@k, majority@k)",
         "pairs_per_problem.png": "Pairs per problem"}


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.export", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", help="output folder of a generate run (nodes/, problems/, manifest.json)")
    parser.add_argument("--labels", help="output folder of a label run (default: --shards)")
    parser.add_argument("--output", help="dataset folder to write (its data/ and plots/ are replaced)")
    parser.add_argument("--title", default="treemill process-supervision data", help="dataset card title")
    parser.add_argument("--prm-threshold", type=float,
                        help="write trl_stepwise labels as 1.0 if label >= this else 0.0 (TRL's PRMTrainer "
                             "casts labels with int(), which turns any float below 1 into 0); default: keep floats")
    parser.add_argument("--preference-kinds", default=",".join(PAIR_KINDS),
                        help=f"pair kinds in trl_preference, comma-separated (default {','.join(PAIR_KINDS)})")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--combine-runs", action="store_true",
                        help="export trees of several generate runs together (default: refuse; the card names each run)")
    parser.add_argument("--no-viewer", action="store_true", help="skip the viewer/ site of the trees")
    parser.add_argument("--push-to-hub", metavar="REPO", help="upload the folder to this Hub dataset repo (token: HF_TOKEN)")
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    return parser


def _require(folder: Path, table: str, hint: str) -> None:
    if not any((folder / table).glob("*.parquet")):
        raise UsageError(f"no {table} shards under {folder} ({hint})")


def resolve_args(argv=None):
    args, _ = parse_pipeline_args(build_parser(), argv, beam=False)
    if not args.shards or not args.output:
        raise UsageError("--shards and --output are required")
    args.labels = args.labels or args.shards
    shards, labels = Path(args.shards), Path(args.labels)
    for table in ("nodes", "problems"):
        _require(shards, table, "is --shards the output folder of a generate run?")
    for table in TABLES:
        _require(labels, table, "run python -m pipelines.label first")
    args.tree_run_ids = check_generate_run(args.shards, args.combine_runs)
    check_label_run(args.labels, tuple(TABLES), args.tree_run_ids)
    kinds = tuple(k for k in args.preference_kinds.split(",") if k)
    if not kinds or set(kinds) - set(PAIR_KINDS):
        raise UsageError(f"--preference-kinds takes a comma-separated subset of {', '.join(PAIR_KINDS)}")
    args.preference_kinds = kinds
    if args.push_to_hub and not os.environ.get("HF_TOKEN"):
        raise UsageError("--push-to-hub needs a Hub token in the HF_TOKEN environment variable")
    return args


def connect(shards: Path, labels: Path) -> duckdb.DuckDBPyConnection:
    """Views nodes, problems (from the generate run) and steps, pairs, sft (from the label run)."""
    con = duckdb.connect()
    for folder, table in [(shards, "nodes"), (shards, "problems")] + [(labels, t) for t in TABLES]:
        pattern = str(folder / table / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', union_by_name=true)")
    return con


def copy_config(name: str, source: Path, out: Path) -> int:
    """Copy a table's shards (schema and field docs kept) into data/<name>/; returns the rows.

    Shards without rows are left out: datasets cannot read a Parquet file whose row group is empty.
    """
    target = out / "data" / name
    target.mkdir(parents=True, exist_ok=True)
    rows = 0
    for shard in sorted(source.glob("*.parquet")):
        count = pq.ParquetFile(shard).metadata.num_rows
        if count:
            shutil.copyfile(shard, target / shard.name)
            rows += count
    return rows


def write_config(name: str, table: pa.Table, out: Path) -> int:
    if table.num_rows:
        write_table(table, str(out / "data" / name / shard_name(name, 0, 1)))
    return table.num_rows


def _label_note(threshold: float | None) -> str:
    return "floats (steps.label)" if threshold is None else f"1.0 if steps.label >= {threshold} else 0.0"


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.parquet"))


def _manifest(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _config(manifest: dict) -> dict:
    config = manifest.get("config") or {}
    return json.loads(config) if isinstance(config, str) else config  # JSON text in manifests before v1.1


def _run(manifest: dict) -> str:
    return f"{manifest.get('run_id', 'unknown')} ({manifest.get('code_version', 'unknown code version')})"


def _made(generate: dict, label: dict, tree_run_ids: list[str]) -> tuple[tuple[str, str], ...]:
    """Rows of the card's 'How it was made': generate's manifest, else the label manifest (which
    records the same model and search, read from the nodes)."""
    def pick(key: str):
        return generate.get(key) or label.get(key)

    params = ", ".join(_config(generate).get("search_param") or []) or "defaults"
    return (("policy model", pick("model_id")),
            ("search", f"{pick('search')} (params: {params}; config hash {pick('search_config_hash')})"),
            ("verifier", label.get("verifier") or generate.get("verifier")),
            ("generate run", _run(generate)),
            *((("combined generate runs", ", ".join(tree_run_ids)),) if len(tree_run_ids) > 1 else ()),
            ("label run", _run(label)),
            ("label functions", "; ".join(_config(label).get("label_functions", {}).values())))


def _counts(con: duckdb.DuckDBPyConnection, rows: dict[str, int]) -> tuple[tuple[str, str], ...]:
    per_problem = con.sql(load_sql("difficulty")).fetchall()  # (problem, leaves, correct, undecided, ...)
    problems, leaves = len(per_problem), sum(r[1] for r in per_problem)
    correct, solved = sum(r[2] for r in per_problem), sum(1 for r in per_problem if r[2])
    kinds = dict(con.sql("SELECT kind, count(*) FROM pairs GROUP BY kind").fetchall())
    return (("problems (trees)", problems), ("nodes", rows["trees"]), ("terminal steps (leaves)", leaves),
            ("leaf accuracy", f"{correct}/{leaves} = {correct / leaves:.1%}" if leaves else "n/a"),
            ("problems solved by some leaf", f"{solved}/{problems}"), ("labelled steps", rows["steps"]),
            *((f"pairs: {k}", kinds.get(k, 0)) for k in PAIR_KINDS), ("SFT traces", rows["sft"]))


def export(args) -> dict:
    shards, labels, out = Path(args.shards), Path(args.labels), Path(args.output)
    for old in ("data", "plots", "viewer"):
        shutil.rmtree(out / old, ignore_errors=True)
    con = connect(shards, labels)
    rows = {"trees": copy_config("trees", shards / "nodes", out),
            "problems": copy_config("problems", shards / "problems", out)}
    rows.update({t: copy_config(t, labels / t, out) for t in TABLES})
    tables = {"trl_stepwise": trl.stepwise(con, args.prm_threshold),
              "trl_preference": trl.preference(con, args.preference_kinds), "trl_sft": trl.sft(con)}
    rows.update({name: write_config(name, table, out) for name, table in tables.items()})
    plots = [] if args.no_plots else write_plots(con, out / "plots")
    viewer = None if args.no_viewer else write_site(shards, out / "viewer", labels, args.title)["index"]
    generate, label = _manifest(shards / "manifest.json"), _manifest(labels / "label" / "manifest.json")
    facts = CardFacts(
        title=args.title, repo=args.push_to_hub,
        configs=tuple(Config(name, rows[name], _bytes(out / "data" / name), SCHEMAS[name], DESCRIPTIONS[name])
                      for name in DESCRIPTIONS),
        made=_made(generate, label, args.tree_run_ids), label_options=_config(label).get("options", {}),
        counts=_counts(con, rows), plots=tuple((PLOTS[p.name], f"plots/{p.name}") for p in plots),
        notes=(f"trl_stepwise labels: {_label_note(args.prm_threshold)}; "
               f"trl_preference kinds: {', '.join(args.preference_kinds)}.",
               *(("Browse the trees: open `viewer/index.html` in a browser (a static site, no server).",) if viewer else ())))
    (out / "README.md").write_text(dataset_card(facts))
    return {"rows": rows, "plots": [str(p) for p in plots], "card": str(out / "README.md"), "viewer": viewer}


def push(folder: str, repo: str, private: bool) -> str:
    """Upload the export folder to a Hub dataset repo; the token comes from HF_TOKEN only."""
    api = HfApi(token=os.environ["HF_TOKEN"])
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    api.upload_folder(folder_path=folder, repo_id=repo, repo_type="dataset", commit_message="treemill export")
    return f"https://huggingface.co/datasets/{repo}"


def run(argv=None) -> dict:
    """Run export; returns what was written (also printed)."""
    try:
        args = resolve_args(argv)
        result = export(args)
        if args.push_to_hub:
            result["pushed"] = push(args.output, args.push_to_hub, args.private)
    except UsageError as err:
        fail(str(err))
    written = ", ".join(f"{name} {count}" for name, count in result["rows"].items())
    print(f"treemill export: {args.output}\n  rows: {written}\n  card: {result['card']}"
          + (f"\n  plots: {', '.join(result['plots'])}" if result["plots"] else "")
          + (f"\n  viewer: {result['viewer']} (open in a browser, no server needed)" if result["viewer"] else "")
          + (f"\n  pushed: {result['pushed']}" if "pushed" in result else ""))
    return result


if __name__ == "__main__":
    run(sys.argv[1:])
