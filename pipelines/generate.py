"""generate: problems -> search trees -> verified node shards.

    read -> validate -> dedupe -> search (--batch-size trees at a time) -> commit per problem -> write

Run ``python -m pipelines.generate --help`` for every option; ``--demo`` runs the bundled GSM8K
sample with the default CPU model. Beam's own options (``--runner``, ``--direct_num_workers``, ...)
pass through to Beam; any other unknown option is an error that names the closest known one.
The console shows one line per stage and the summary; library output (vLLM, Beam, torch) goes to
``<output>/logs/generate.log`` unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.common import (OneLineParser, UsageError, counters, ensure_shard, fail, log_path, parse_pipeline_args,
                              quiet_console, stage, write_manifest)
from pipelines.search_help import overview, search_help
from pipelines.summary import metrics_text
from schemas import DEAD_LETTERS_V1, NODES_V1, PROBLEMS_V1
from transforms.step_formats.code import PRESETS as CODE_FORMATS
from transforms.io.ingest import DEAD, FORMATS, PRESETS, FieldMapping, IngestError, IngestProblems, ReadProblems, detect_format, match_files
from transforms.policy import BACKENDS, PolicySpec
from transforms.policy.models import local_model_folder, model_digest
from transforms.runner.run_search import SearchDoFn, SearchSettings
from transforms.scorer import SCORER_BACKENDS, ScorerSpec
from transforms.search import SEARCHES
from transforms.search.base import DEFAULT_SYSTEM_PROMPT, build_config
from transforms.runner.metrics import distributions
from transforms.io.request_cache import DEFAULT_FILE as CACHE_FILE
from transforms.io.request_cache import KINDS as CACHE_KINDS
from transforms.io.resume import CommitParts, ReadParts, RunMismatch, committed_parts, finished_keys, part_key, parts_dir, start_run
from transforms.io.shards import WriteShards, clear_shards

DEMO_INPUT = Path(__file__).parent / "data" / "gsm8k_demo.jsonl"
DEMO_OUTPUT = "out/demo"
DEMO_SEARCH_PARAMS = ("n=4", "max_tokens=256")
STEP_FORMATS = ("text", *sorted(CODE_FORMATS))
NOT_IN_RUN_ID = ("overwrite", "cache_dir", "no_cache")  # how a run is resumed or cached, not what it makes
NODE_ORDER = ("problem_id", "path")
DEAD_ORDER = ("stage", "record_id", "reason")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m pipelines.generate", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=overview() + "\n\nApache Beam's options pass through (e.g. --runner DataflowRunner); "
                            "any other unknown option is an error.")
    io = parser.add_argument_group("input and output")
    io.add_argument("--demo", action="store_true", help=f"run the bundled GSM8K sample ({DEMO_INPUT.name}) into {DEMO_OUTPUT}/ unless --output is given; best-of-n defaults to {' '.join(DEMO_SEARCH_PARAMS)}")
    io.add_argument("--input", nargs="+", metavar="PATH",
                    help="jsonl/parquet files or globs, several allowed (any Beam filesystem), "
                         "or one HF dataset id with --input-format hf")
    io.add_argument("--input-format", choices=FORMATS, help="default: from the file extension")
    io.add_argument("--preset", choices=sorted(PRESETS), default="gsm8k", help="field mapping preset (default gsm8k)")
    io.add_argument("--question-field", help="override the preset's question field")
    io.add_argument("--answer-field", help="override the preset's answer field")
    io.add_argument("--id-field", help="override the preset's id field")
    io.add_argument("--hf-split", default="train", help="split for --input-format hf (default train)")
    io.add_argument("--hf-config", help="dataset config name for --input-format hf")
    io.add_argument("--limit", type=int, help="use only the first N input rows")
    io.add_argument("--output", help="output folder: nodes/, problems/, dead_letters/, manifest.json")
    io.add_argument("--num-shards", type=int, default=4, help="node shards to write (default 4)")
    io.add_argument("--run-id", help="default: a hash of the options")
    search = parser.add_argument_group("search")
    search.add_argument("--search", choices=sorted(SEARCHES), default="best-of-n", help="search algorithm (default best-of-n)")
    search.add_argument("--search-param", action="append", default=[], metavar="KEY=VALUE",
                        help="search config field, repeatable; preset=NAME starts from a paper's settings "
                             "(every search's fields, defaults and presets are listed below)")
    search.add_argument("--search-help", choices=sorted(SEARCHES), metavar="NAME",
                        help="print one search's parameters, defaults and presets, then exit")
    search.add_argument("--batch-size", type=int, default=32,
                        help="problems searched together (default 32); with the continuous scheduler the next problem "
                             "starts as soon as one of them finishes, with lockstep they run in batches of this size")
    search.add_argument("--seed", type=int, default=0, help="run seed; per-request seeds derive from it")
    search.add_argument("--max-tokens-per-problem", type=int, help="token budget per problem")
    search.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT, help="system message for the policy")
    search.add_argument("--step-format", choices=STEP_FORMATS, default="text",
                        help="text: steps separated by blank lines (default); rstar / alphamath: code-augmented steps, "
                             "each executed in the sandbox with its output fed to the next step (best-of-n and greedy then grow step by step)")
    search.add_argument("--sandbox-timeout", type=float, default=10.0, help="wall-clock seconds per code execution (default 10)")
    search.add_argument("--verify-option", action="append", default=[], metavar="KEY=VALUE", help="verifier option, repeatable")
    model = parser.add_argument_group("policy model")
    model.add_argument("--model", default="default", help="local folder, hub id, or 'default' (SmolLM2-135M-Instruct, built offline)")
    model.add_argument("--backend", choices=BACKENDS, default="vllm", help="vllm (in-process engine) or openai (a vLLM server)")
    model.add_argument("--server-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (backend openai)")
    model.add_argument("--tokenizer", help="tokenizer folder or id if not the model's")
    model.add_argument("--dtype", default="bfloat16", help="model dtype (default bfloat16)")
    model.add_argument("--max-model-len", type=int, default=4096, help="context length (default 4096)")
    model.add_argument("--kv-cache-gb", type=float, default=1.0, help="KV cache size in GiB (default 1)")
    model.add_argument("--block-size", type=int, help="KV cache block size (default: vLLM's on GPU, 32 on CPU)")
    model.add_argument("--no-prefix-caching", action="store_true", help="turn vLLM prefix caching off")
    scorer = parser.add_argument_group("scorer (value model / PRM / PPM)")
    scorer.add_argument("--scorer-model", help="sequence-classification model folder or hub id; none by default")
    scorer.add_argument("--scorer-backend", choices=SCORER_BACKENDS, default="transformers",
                        help="transformers (batched, no grad) or vllm (pooling engine); default transformers")
    scorer.add_argument("--scorer-param", action="append", default=[], metavar="KEY=VALUE",
                        help="ScorerSpec field, repeatable (activation, label, template, aggregation, batch_size, dtype, max_model_len, kv_cache_gb)")
    resume = parser.add_argument_group("resume and cache (see README: Resume and the request cache)")
    mode = resume.add_mutually_exclusive_group()
    mode.add_argument("--resume", dest="overwrite", action="store_false", default=False,
                      help="default: keep the problems an earlier run with the same options finished "
                           "(--output/_parts/) and search only the rest; refuse a folder of another run")
    mode.add_argument("--overwrite", action="store_true", help="delete an earlier run's output in --output first")
    resume.add_argument("--cache-dir", help=f"request cache folder (default: --output/{Path(CACHE_FILE).parent})")
    resume.add_argument("--no-cache", action="store_true", help="neither read nor write the request cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.add_argument("--verbose", action="store_true",
                        help="show library logs (vLLM, Beam, torch) on the console instead of <output>/logs/generate.log")
    return parser


def _pairs(items: list[str], flag: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        if "=" not in item:
            raise UsageError(f"{flag} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _mapping(args) -> FieldMapping:
    base = PRESETS[args.preset]
    return FieldMapping(question_field=args.question_field or base.question_field,
                        answer_field=args.answer_field or base.answer_field,
                        id_field=args.id_field or base.id_field, answer_rule=base.answer_rule)


def _count_rows(path: list[str], fmt: str, limit: int | None) -> int | None:
    """Rows to expect, for the progress line (cheap for local files; None when unknown)."""
    if fmt == "hf":
        return limit
    total = 0
    for file in match_files(path):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(file).metadata.num_rows
        else:
            with open(file, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
    return min(total, limit) if limit is not None else total


def resolve_args(argv=None):
    """Parse and check options; returns (args, beam_args, settings, mapping). Raises UsageError."""
    args, beam_args = parse_pipeline_args(build_parser(), argv)
    if args.search_help:
        print(search_help(args.search_help))
        raise SystemExit(0)
    return settings_from_args(args, beam_args)


def settings_from_args(args, beam_args):
    """Check parsed options (generate's, or a parser built on ``build_parser``, e.g. evaluate's);
    returns (args, beam_args, settings, mapping). Raises UsageError."""
    if args.demo:
        args.input = args.input or [str(DEMO_INPUT)]
        args.output = args.output or DEMO_OUTPUT
        if args.search == "best-of-n" and not args.search_param:
            args.search_param = list(DEMO_SEARCH_PARAMS)  # the settings the sample was chosen with
    if not args.input:
        raise UsageError("--input is required (or --demo)")
    if not args.output:
        raise UsageError("--output is required (or --demo)")
    if args.batch_size < 1 or args.num_shards < 1:
        raise UsageError("--batch-size and --num-shards must be >= 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be >= 1")
    if not args.input_format:
        formats = {detect_format(path) for path in args.input}
        if len(formats) > 1:
            raise UsageError(f"--input mixes formats ({', '.join(sorted(formats))}); give files of one format")
        args.input_format = formats.pop()
    try:
        policy = PolicySpec(model=args.model, backend=args.backend, dtype=args.dtype, max_model_len=args.max_model_len,
                            kv_cache_gb=args.kv_cache_gb, enable_prefix_caching=not args.no_prefix_caching,
                            seed=args.seed, server_url=args.server_url, tokenizer=args.tokenizer,
                            block_size=args.block_size)
        mapping = _mapping(args)
        settings = SearchSettings(
            run_id="", policy=policy, search=args.search,
            search_params=_pairs(args.search_param, "--search-param"), seed=args.seed,
            system_prompt=args.system_prompt, max_tokens_per_problem=args.max_tokens_per_problem,
            verify_options=_pairs(args.verify_option, "--verify-option"), scorer=_scorer_spec(args),
            step_format=args.step_format, sandbox_timeout_s=args.sandbox_timeout)
        if args.sandbox_timeout <= 0:
            raise UsageError("--sandbox-timeout must be > 0")
        _check_scorer(settings)  # also validates the search options now, not inside a worker
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from None
    config = {k: v for k, v in vars(args).items()
              if k not in ("run_id", "no_progress", "output", "verbose", "search_help", *NOT_IN_RUN_ID)}
    run_id = args.run_id or hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
    total = None if args.no_progress else _count_rows(args.input, args.input_format, args.limit)
    settings = SearchSettings(**{**settings.__dict__, "run_id": run_id, "progress_total": total,
                                 "cache_path": _cache_path(args)})
    return args, beam_args, settings, mapping


def _cache_path(args) -> str | None:
    if args.no_cache:
        return None
    if args.cache_dir:
        return str(Path(args.cache_dir) / Path(CACHE_FILE).name)
    if "://" in args.output:  # SQLite needs a local disk: a bucket gets no cache unless --cache-dir says where
        return None
    return str(Path(args.output) / CACHE_FILE)


def _scorer_spec(args) -> ScorerSpec | None:
    params = dict(_pairs(args.scorer_param, "--scorer-param"))
    if not args.scorer_model:
        if params:
            raise UsageError("--scorer-param needs --scorer-model")
        return None
    return build_config(ScorerSpec, {**params, "model": args.scorer_model, "backend": args.scorer_backend,
                                     "seed": str(args.seed)})


def _check_scorer(settings: SearchSettings) -> None:
    if settings.algorithm().requires_scorer(settings.config()) and settings.scorer is None:
        raise UsageError(f"search {settings.search} with these options needs a scorer: give --scorer-model")


def _shown(path: str) -> str:
    """A local path as the user would type it: relative to the current folder when inside it."""
    local = Path(path)
    return str(local.relative_to(Path.cwd())) if local.is_absolute() and local.is_relative_to(Path.cwd()) else path


def _model_digest(settings: SearchSettings) -> str | None:
    """SHA-256 of the in-process model's files; None for a server (its weights are not ours to read)."""
    if settings.policy.backend != "vllm":
        return None
    folder = local_model_folder(settings.policy.model)
    return model_digest(folder) if folder else None


def build_pipeline(pipeline: beam.Pipeline, args, settings: SearchSettings, mapping: FieldMapping) -> None:
    """The labelled stages of generate, from reading problems to writing shards.

    Problems whose part file an earlier attempt committed are not searched again: their rows are
    read back from the parts (``transforms.io.resume``) and written into the shards with the new ones.
    """
    read = ReadProblems(args.input, args.input_format, args.hf_split, args.hf_config, args.limit)
    ingested = pipeline | "Ingest" >> IngestProblems(read, mapping)
    problems = ingested["problems"]
    out = args.output
    finished = finished_keys(out)
    searched = (problems
                | "SkipFinished" >> beam.Filter(lambda p, done: part_key(p["problem_id"]) not in done, finished)
                | "Search" >> beam.ParDo(SearchDoFn(settings, window=args.batch_size)).with_outputs(DEAD, main="trees"))
    trees = searched.trees | "CommitTrees" >> beam.ParDo(CommitParts(parts_dir(out, "nodes"), NODES_V1, NODE_ORDER))
    search_dead = (searched[DEAD] | "KeySearchDead" >> beam.Map(lambda d: (d["record_id"], [d]))
                   | "CommitSearchDead" >> beam.ParDo(CommitParts(parts_dir(out, "dead_letters"), DEAD_LETTERS_V1, DEAD_ORDER))
                   | "UnkeySearchDead" >> beam.FlatMap(lambda kv: kv[1]))
    earlier_trees = pipeline | "ResumedTrees" >> ReadParts(
        committed_parts(out, "nodes"), "problem_id", "problems_resumed", count_if=lambda row: row["depth"] == 0)
    earlier_dead = (pipeline | "ResumedSearchDead" >> ReadParts(
        committed_parts(out, "dead_letters"), "record_id", "dead_letters_search")
        | "UnkeyResumedDead" >> beam.FlatMap(lambda kv: kv[1]))
    _ = ((trees, earlier_trees) | "AllTrees" >> beam.Flatten()
         | "WriteNodes" >> WriteShards(f"{out}/nodes", "nodes", NODES_V1, args.num_shards, NODE_ORDER))
    _ = (problems | "KeyProblems" >> beam.Map(lambda p: (p["problem_id"], [p]))
         | "WriteProblems" >> WriteShards(f"{out}/problems", "problems", PROBLEMS_V1, 1, ("problem_id",)))
    _ = ((ingested["dead"], search_dead, earlier_dead) | "AllDeadLetters" >> beam.Flatten()
         | "KeyDead" >> beam.Map(lambda d: (d["stage"], [d]))
         | "WriteDeadLetters" >> WriteShards(f"{out}/dead_letters", "dead_letters", DEAD_LETTERS_V1, 1, DEAD_ORDER))


def run(argv=None) -> dict:
    """Run generate; returns the summary dict (also printed)."""
    try:
        args, beam_args, settings, mapping = resolve_args(argv)
        log_file = log_path(args.output, "generate")
        resumed = prepare_output(args, settings)
        total = settings.progress_total
        stage(f"read: {'?' if total is None else total} rows from {', '.join(map(_shown, args.input))} -> {args.output}"
              + ("" if args.verbose else f" (library logs: {log_file})"))
        with quiet_console(log_file, args.verbose):
            with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
                build_pipeline(pipeline, args, settings, mapping)
            result = pipeline.result
            # Empty tables still get a shard: the summary and queries name them, so they must exist.
            for prefix, schema in (("nodes", NODES_V1), ("problems", PROBLEMS_V1), ("dead_letters", DEAD_LETTERS_V1)):
                ensure_shard(f"{args.output}/{prefix}", prefix, schema)
    except (UsageError, IngestError, RunMismatch) as err:
        fail(str(err))
    from pipelines.summary import summarize

    counts = counters(result)
    summary = summarize(args.output, counts)
    metrics = run_metrics(result, counts, resumed)
    summary["metrics"] = metrics
    summary["text"] += "\n" + metrics_text(metrics)
    model_id = summary.get("model_id") or settings.policy.model
    write_manifest(args.output, {
        "run_id": settings.run_id, "pipeline": "generate", "config": vars(args),
        "search": settings.search, "search_config_hash": settings.config_hash(),
        "model_id": model_id, "model_digest": _model_digest(settings),
        "verifier": summary.get("verifier"), "counts": summary["counts"],
        "metrics": metrics,
    })
    stage(f"write: {summary['counts']['nodes']} nodes, manifest.json")
    print(summary["text"].rstrip() + ("" if args.verbose else f"\n  library logs: {log_file}"))
    return summary


def prepare_output(args, settings: SearchSettings) -> int:
    """Claim the output folder for this run (resume or overwrite; see ``transforms.io.resume``) and remove
    the final shards and manifest, which the run writes again. Returns the problems already finished."""
    out = args.output
    manifest = Path(out) / "manifest.json"
    manifest_run = json.loads(manifest.read_text()).get("run_id") if manifest.exists() else None
    config = {k: v for k, v in vars(args).items() if k not in NOT_IN_RUN_ID}
    finished = start_run(out, settings.run_id, config, overwrite=args.overwrite, manifest_run_id=manifest_run)
    if manifest.exists():
        manifest.unlink()  # written again at the end: a folder with a manifest holds a finished run
    for prefix in ("nodes", "problems", "dead_letters"):
        clear_shards(f"{out}/{prefix}", prefix)
    return finished


def run_metrics(result, counts: dict[str, int], resumed: int) -> dict:
    """Distributions, cache hit rates and resume counts for the summary and the manifest."""
    cache = {}
    for kind in CACHE_KINDS:
        hits, misses = counts.get(f"cache_{kind}_hits", 0), counts.get(f"cache_{kind}_misses", 0)
        if hits + misses:
            cache[kind] = {"hits": hits, "misses": misses, "hit_rate": round(hits / (hits + misses), 4)}
    return {"distributions": distributions(result), "cache": cache,
            "resume": {"problems_finished_before": resumed, "trees_resumed": counts.get("problems_resumed", 0)}}


if __name__ == "__main__":
    run(sys.argv[1:])
