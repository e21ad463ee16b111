"""label: stored trees -> labelled steps, preference pairs and SFT traces. Generates nothing.

    read nodes + problems -> group by problem -> rebuild tree -> label -> write steps/ pairs/ sft/

Reads the node and problem shards of a generate run, rebuilds each problem's tree
(Tree.from_rows) and derives per-step labels (terminal-reward Q, Math-Shepherd, ReST-MCTS*),
pairs (rStar-Math PPM, sibling steps, full solutions) and the top-k correct traces. Re-run it with
other options to relabel the same trees. A tree that cannot be labelled becomes a dead letter
(dead_letters/label_dead_letters-*.parquet) with the reason: trees read = labelled + dead-lettered.
The run's options, label functions and verifier versions go to <output>/label/manifest.json.

Q for the pair and SFT rules is the Q the search stored (MCTS) or, where it stored none
(best-of-n), the Q from terminal rewards. Apache Beam's options pass through to Beam; any other
unknown option is an error. Library logs go to <output>/logs/label.log unless --verbose.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys

import apache_beam as beam
import duckdb
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.common import (OneLineParser, UsageError, counters, ensure_shard, fail, log_path, parse_pipeline_args,
                              python_command, quiet_console, stage, write_manifest)
from pipelines.summary import dead_letter_lines
from pipelines.run_checks import check_generate_run
from schemas import DEAD_LETTERS_V1, PAIR_KINDS, PAIRS_V1, SFT_V1, STEPS_V1
from transforms.io.ingest import DEAD, dead_letter
from transforms.labels import LABEL_FUNCTIONS, LabelError, LabelOptions, label_rows
from transforms.labels.options import option_groups
from transforms.io.shards import ReadTrees, WriteShards, clear_shards

DEAD_PREFIX = "label_dead_letters"  # shares dead_letters/ with generate's shards without touching them
# table -> (schema, sort keys of its shards)
TABLES = {"steps": (STEPS_V1, ("problem_id", "path")),
          "pairs": (PAIRS_V1, ("problem_id", "kind", "pair_id")),
          "sft": (SFT_V1, ("problem_id", "rank"))}


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of every option group: --<group>-<field>, help from the field's metadata."""
    for group, cls in option_groups().items():
        section = parser.add_argument_group(f"{group} options")
        for field in dataclasses.fields(cls):
            kwargs = {"dest": f"{group}__{field.name}", "default": field.default,
                      "help": f"{field.metadata['help']} (default {field.default})"}
            if isinstance(field.default, bool):
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["type"] = type(field.default)
                kwargs["choices"] = field.metadata.get("choices")
                kwargs["metavar"] = None if kwargs["choices"] else type(field.default).__name__.upper()
            section.add_argument(f"--{group}-{field.name.replace('_', '-')}", **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m pipelines.label", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="Apache Beam's options pass through (e.g. --runner DataflowRunner); any other "
                                  "unknown option is an error.")
    io = parser.add_argument_group("input and output")
    io.add_argument("--shards", help="output folder of a generate run (reads nodes/ and problems/)")
    io.add_argument("--output", help="folder for steps/, pairs/, sft/, dead_letters/ and label/manifest.json "
                                     "(default: --shards, so queries see nodes and labels together)")
    io.add_argument("--num-shards", type=int, default=2, help="shards per derived table (default 2)")
    io.add_argument("--run-id", help="label run id (default: a hash of the options and the input shard files)")
    io.add_argument("--combine-runs", action="store_true",
                    help="label trees of several generate runs together (default: refuse; the manifest names each run)")
    io.add_argument("--verbose", action="store_true", help="library logs on the console, not <output>/logs/label.log")
    add_option_flags(parser)
    return parser


def options_from(args) -> LabelOptions:
    groups = {group: cls(**{f.name: getattr(args, f"{group}__{f.name}") for f in dataclasses.fields(cls)})
              for group, cls in option_groups().items()}
    return LabelOptions(**groups)


def _require_shards(folder: str, table: str) -> list:
    """The table's shard files (Beam FileMetadata); UsageError if there are none."""
    pattern = FileSystems.join(folder, table, "*.parquet")
    found = FileSystems.match([pattern])[0].metadata_list
    if not found:
        raise UsageError(f"no {table} shards at {pattern} (is --shards the output folder of a generate run?)")
    return found


def resolve_args(argv=None):
    """Parse and check options; returns (args, beam_args, options, label_run_id). Raises UsageError."""
    args, beam_args = parse_pipeline_args(build_parser(), argv)
    if not args.shards:
        raise UsageError("--shards is required (the output folder of a generate run)")
    if args.num_shards < 1:
        raise UsageError("--num-shards must be >= 1")
    args.output = args.output or args.shards
    try:
        options = options_from(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    inputs = [f"{m.path}:{m.size_in_bytes}" for table in ("nodes", "problems") for m in _require_shards(args.shards, table)]
    check_generate_run(args.shards, args.combine_runs)
    # Same options over other trees (a re-run of generate) must give another id: the input files count.
    payload = json.dumps({"options": options.as_dict(), "inputs": sorted(inputs)}, sort_keys=True)
    return args, beam_args, options, args.run_id or hashlib.sha256(payload.encode()).hexdigest()[:12]


class LabelDoFn(beam.DoFn):
    """(problem_id, {nodes: [rows], problems: [rows]}) -> (problem_id, rows) tagged steps, pairs and
    sft, or one dead letter. Only problems with node rows count as trees read."""

    def __init__(self, options: LabelOptions, label_run_id: str):
        self.options, self.label_run_id = options, label_run_id
        self.read = Metrics.counter("treemill", "label_trees_read")
        self.labelled = Metrics.counter("treemill", "label_trees_labelled")
        self.dead = Metrics.counter("treemill", "dead_letters_label")

    def process(self, element):
        problem_id, grouped = element
        node_rows = list(grouped["nodes"])
        if node_rows:  # a problem without a tree was already dead-lettered by generate's search
            yield from self._label(problem_id, node_rows, list(grouped["problems"]))

    def _label(self, problem_id: str, node_rows: list[dict], problems: list[dict]) -> list:
        self.read.inc()
        try:
            labelled = label_rows(node_rows, problems[0] if problems else None, self.options, self.label_run_id)
        except LabelError as err:
            self.dead.inc()
            paths = sorted(r["path"] for r in node_rows)[:20]  # enough to see what is broken, never the whole tree
            record = {"problem_id": problem_id, "node_rows": len(node_rows), "paths": paths}
            return [beam.pvalue.TaggedOutput(DEAD, dead_letter("label", str(err), problem_id, record))]
        self.labelled.inc()
        return [beam.pvalue.TaggedOutput(table, (problem_id, getattr(labelled, table)))
                for table in TABLES if getattr(labelled, table)]


def build_pipeline(pipeline: beam.Pipeline, args, options: LabelOptions, label_run_id: str) -> None:
    """The labelled stages of label, from reading shards to writing derived shards."""
    labelled = (pipeline
                | "ReadTrees" >> ReadTrees(args.shards)
                | "Label" >> beam.ParDo(LabelDoFn(options, label_run_id)).with_outputs(*TABLES, DEAD))
    for table, (schema, sort_keys) in TABLES.items():
        _ = labelled[table] | f"Write{table.title()}" >> WriteShards(
            f"{args.output}/{table}", table, schema, args.num_shards, sort_keys)
    _ = (labelled[DEAD] | "KeyDead" >> beam.Map(lambda d: (d["stage"], [d]))
         | "WriteDeadLetters" >> WriteShards(f"{args.output}/dead_letters", DEAD_PREFIX, DEAD_LETTERS_V1, 1,
                                             ("stage", "record_id", "reason")))


def _outputs(output: str):
    """(folder, shard prefix, schema) of every table label writes."""
    tables = [(f"{output}/{table}", table, schema) for table, (schema, _) in TABLES.items()]
    return tables + [(f"{output}/dead_letters", DEAD_PREFIX, DEAD_LETTERS_V1)]


def _shards(output: str, table: str) -> str:
    """read_parquet() over this run's shards of ``table`` (other files in the folder are not ours)."""
    pattern = f"{output}/{table}/{table}-*-of-*.parquet".replace("'", "''")
    return f"read_parquet('{pattern}')"


def summarize(args, counts: dict[str, int], label_run_id: str) -> dict:
    """Counts that must add up, read back from the written shards, and the provenance of the trees."""
    con = duckdb.connect()
    steps, labelled_steps = con.execute(f"SELECT count(*), count(label) FROM {_shards(args.output, 'steps')}").fetchone()
    kinds = dict(con.execute(f"SELECT kind, count(*) FROM {_shards(args.output, 'pairs')} GROUP BY kind").fetchall())
    sft = con.execute(f"SELECT count(*) FROM {_shards(args.output, 'sft')}").fetchone()[0]
    nodes = f"{args.shards}/nodes/*.parquet".replace("'", "''")
    source = con.execute(f"""SELECT string_agg(DISTINCT run_id, ', '), string_agg(DISTINCT search, ', '),
                                    string_agg(DISTINCT search_config_hash, ', '), string_agg(DISTINCT model_id, ', '),
                                    string_agg(DISTINCT verifier, ', ')
                             FROM read_parquet('{nodes}')""").fetchone()
    read, done, dead = (counts.get(k, 0) for k in ("label_trees_read", "label_trees_labelled", "dead_letters_label"))
    full = {"trees_read": read, "trees_labelled": done, "dead_letters_label": dead, "steps": steps,
            "labelled_steps": labelled_steps, "sft_traces": sft, **{f"pairs_{k}": kinds.get(k, 0) for k in PAIR_KINDS}}
    pairs = ", ".join(f"{k} {kinds.get(k, 0)}" for k in PAIR_KINDS)
    dead_pattern = f"{args.output}/dead_letters/{DEAD_PREFIX}-*-of-*.parquet".replace("'", "''")
    con.execute(f"CREATE VIEW dead_letters AS SELECT * FROM read_parquet('{dead_pattern}')")
    lines = [
        f"treemill label: {args.output} (trees from {args.shards}, label run {label_run_id})",
        f"  trees: read {read} = labelled {done} + dead-lettered {dead}{'' if read == done + dead else '  (MISMATCH)'}",
        f"  steps {steps} ({labelled_steps} with a label), pairs: {pairs}; SFT traces {sft}",
        f"  verifier: {source[4]}; search: {source[1]}; model: {source[3]}",
        *dead_letter_lines(con, args.output),
        f"  shards: {args.output}/steps, pairs, sft; dead letters {args.output}/dead_letters/{DEAD_PREFIX}-*; "
        f"manifest {args.output}/label/manifest.json",
        f"  queries: {python_command()} -m queries pairs_per_problem --shards {args.output} (also q_by_depth, best_path, failures)",
    ]
    return {"counts": full, "source": dict(zip(("run_id", "search", "search_config_hash", "model_id", "verifier"), source)),
            "text": "\n".join(lines)}


def forget_label_run(output: str) -> None:
    """Remove the label manifest first: it is written last, so a killed run leaves none (export refuses)."""
    manifests = FileSystems.match([FileSystems.join(output, "label", "manifest*")])[0].metadata_list
    manifests += FileSystems.match([FileSystems.join(output, "label", "manifest", "*.parquet")])[0].metadata_list
    if manifests:
        FileSystems.delete([m.path for m in manifests])


def run(argv=None) -> dict:
    """Run label; returns the summary dict (also printed)."""
    try:
        args, beam_args, options, label_run_id = resolve_args(argv)
        forget_label_run(args.output)
        for folder, prefix, _ in _outputs(args.output):
            clear_shards(folder, prefix)
        log_file = log_path(args.output, "label")
        stage(f"label: trees from {args.shards} -> {args.output}" + ("" if args.verbose else f" (library logs: {log_file})"))
        with quiet_console(log_file, args.verbose):
            with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
                build_pipeline(pipeline, args, options, label_run_id)
            result = pipeline.result
    except UsageError as err:
        fail(str(err))
    for folder, prefix, schema in _outputs(args.output):
        ensure_shard(folder, prefix, schema)
    summary = summarize(args, counters(result), label_run_id)
    source = summary["source"]
    config = {"shards": args.shards, "output": args.output, "num_shards": args.num_shards,
              "options": options.as_dict(), "label_functions": LABEL_FUNCTIONS, "source_run_ids": source["run_id"],
              "verbose": args.verbose}
    write_manifest(f"{args.output}/label", {
        "run_id": label_run_id, "pipeline": "label", "config": config,
        "search": source["search"], "search_config_hash": source["search_config_hash"],
        "model_id": source["model_id"], "verifier": source["verifier"],
        "counts": summary["counts"],
    })
    print(summary["text"])
    return {**summary, "label_run_id": label_run_id}


if __name__ == "__main__":
    run(sys.argv[1:])
