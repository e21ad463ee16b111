"""evaluate prm: how well a scorer (PRM / value model) finds wrong steps, on published benchmark files.

    python -m pipelines.evaluate prm --data gsm8k.json --data math.json --scorer-model DIR [--output DIR]

ProcessBench files (a JSON list, or JSON lines, of {id, generator, problem, steps: [str],
final_answer_correct, label}; label = index of the earliest wrong step, -1 if none): every step prefix
is scored; the predicted earliest error is the first step scored below the threshold. Reported per
file (one file per subset, as ProcessBench ships them): accuracy on erroneous samples, accuracy on
correct samples, their harmonic mean F1, and the F1 averaged over files weighted by size (the
paper's headline). --threshold 0.5 (default) suits a probability head; --threshold search picks the
F1-maximising threshold on --threshold-data (ProcessBench tunes on its GSM8K subset), or, without
it, on the evaluated files themselves (optimistic; the report says so).

PRM800K files (JSON lines with question.problem and label.steps[].completions[].rating): every rated
step is scored after the chosen steps before it; reported: step-level ROC AUC of good (1) vs bad
(-1) steps, neutral (0) steps counted per --neutral.

Scores are computed on the driver in batches (``--scorer-param batch_size=N``); the files are small.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pyarrow as pa

from pipelines.common import OneLineParser, UsageError, fail
from schemas import PROCESSBENCH_V1
from transforms.evaluate.processbench import (
    NEUTRAL_RULES, best_threshold, predict_error_index, processbench_metrics, processbench_sample,
    prm800k_steps, rating_label, read_json_records, weighted_f1,
)
from transforms.evaluate.stats import roc_auc
from transforms.protocols import ScoreRequest
from transforms.scorer import SCORER_BACKENDS, ScorerSpec, shared_scorer
from transforms.search.base import build_config
from transforms.io.shards import shard_name, write_table

FORMATS = ("auto", "processbench", "prm800k")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m pipelines.evaluate prm", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", default=[], help="benchmark file, repeatable (one per subset)")
    parser.add_argument("--format", choices=FORMATS, default="auto", help="default: from the first record's fields")
    parser.add_argument("--limit", type=int, help="use only the first N samples of each file")
    parser.add_argument("--threshold", default="0.5", help="a number, or 'search' (default 0.5); a step is wrong when its score < threshold")
    parser.add_argument("--threshold-data", help="ProcessBench file to search the threshold on (e.g. the GSM8K subset)")
    parser.add_argument("--neutral", choices=NEUTRAL_RULES, default="positive", help="PRM800K rating 0 counts as (default positive)")
    parser.add_argument("--output", help="folder for predictions (schema processbench/v1), report.md and report.json")
    parser.add_argument("--scorer-model", help="sequence-classification model folder or hub id (required)")
    parser.add_argument("--scorer-backend", choices=SCORER_BACKENDS, default="transformers", help="default transformers")
    parser.add_argument("--scorer-param", action="append", default=[], metavar="KEY=VALUE",
                        help="ScorerSpec field, repeatable (activation, label, template, batch_size, dtype, ...)")
    return parser


def _scorer_spec(args) -> ScorerSpec:
    params = {}
    for item in args.scorer_param:
        if "=" not in item:
            raise UsageError(f"--scorer-param expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        params[key.strip()] = value.strip()
    try:
        return build_config(ScorerSpec, {**params, "model": args.scorer_model, "backend": args.scorer_backend})
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from None


def _load(path: str, fmt: str, limit: int | None) -> tuple[str, list[dict]]:
    if not Path(path).is_file():
        raise UsageError(f"no such file: {path}")
    try:
        records = read_json_records(path)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not records:
        raise UsageError(f"{path}: no records")
    if fmt == "auto":
        label = records[0].get("label")
        fmt = "prm800k" if isinstance(label, dict) else "processbench" if "steps" in records[0] else ""
        if not fmt:
            raise UsageError(f"{path}: cannot tell the format (ProcessBench rows have steps and label; "
                             f"PRM800K rows have label.steps); give --format")
    return fmt, records[:limit] if limit else records


def _prefix_scores(scorer, question_steps: list[tuple[str, tuple[str, ...]]]) -> list[list[float]]:
    """For each (question, steps): the score of every step prefix, all in one scorer call."""
    requests = [ScoreRequest(q, steps[:i + 1]) for q, steps in question_steps for i in range(len(steps))]
    flat = [float(s) for s in scorer.score(requests)] if requests else []
    out, start = [], 0
    for _, steps in question_steps:
        out.append(flat[start:start + len(steps)])
        start += len(steps)
    return out


def _samples(path: str, records: list[dict]) -> list:
    try:
        return [processbench_sample(r, f"{path} record {i}") for i, r in enumerate(records)]
    except ValueError as err:
        raise UsageError(str(err)) from None


def _processbench(path: str, samples: list, scorer) -> dict:
    scores = _prefix_scores(scorer, [(s.problem, s.steps) for s in samples])
    return {"subset": Path(path).stem, "path": path, "samples": samples, "scores": scores}


def _rated(path: str, records: list[dict]) -> list:
    try:
        return [step for i, record in enumerate(records) for step in prm800k_steps(record, i)]
    except ValueError as err:
        raise UsageError(f"{path}: {err}") from None


def _threshold(args, subsets: list[dict], scorer) -> tuple[float, str]:
    if args.threshold != "search":
        try:
            return float(args.threshold), "given"
        except ValueError:
            raise UsageError(f"--threshold must be a number or 'search', got {args.threshold!r}") from None
    if args.threshold_data:
        _, records = _load(args.threshold_data, "processbench", None)
        tuning = [_processbench(args.threshold_data, _samples(args.threshold_data, records), scorer)]
        where = f"searched on {args.threshold_data}"
    else:
        tuning = subsets
        where = "searched on the evaluated files themselves (optimistic: tune on a separate subset with --threshold-data)"
    scores = [s for subset in tuning for s in subset["scores"]]
    labels = [sample.label for subset in tuning for sample in subset["samples"]]
    threshold, _ = best_threshold(scores, labels)
    return threshold, where


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def run(argv=None) -> dict:
    """Run evaluate prm; returns the report dict (also printed)."""
    try:
        args = build_parser().parse_args(argv)
        if not args.data:
            raise UsageError("--data is required (a ProcessBench or PRM800K file)")
        if not args.scorer_model:
            raise UsageError("--scorer-model is required")
        spec = _scorer_spec(args)
        loaded = [(path, *_load(path, args.format, args.limit)) for path in args.data]
        # Check every row before the model loads: a bad file fails in a second, not after scoring.
        checked = [(path, fmt, _samples(path, records) if fmt == "processbench" else _rated(path, records))
                   for path, fmt, records in loaded]
        try:
            scorer = shared_scorer(spec)
        except (RuntimeError, OSError) as err:
            raise UsageError(f"cannot load the scorer: {err}") from None
        bench = [_processbench(path, samples, scorer) for path, fmt, samples in checked if fmt == "processbench"]
        threshold, where = _threshold(args, bench, scorer) if bench else (None, "")
        ratings = [(path, rated) for path, fmt, rated in checked if fmt == "prm800k"]
        report = {"scorer": spec.model, "threshold": threshold, "threshold_rule": where, "processbench": [], "prm800k": []}
        rows = []
        for subset in bench:
            predictions = [predict_error_index(s, threshold) for s in subset["scores"]]
            result = processbench_metrics([s.label for s in subset["samples"]], predictions)
            subset["result"] = result
            report["processbench"].append({"subset": subset["subset"], "samples": result.samples,
                                           "erroneous": result.erroneous, "correct": result.correct,
                                           "error_acc": result.error_acc, "correct_acc": result.correct_acc, "f1": result.f1})
            rows += [{"eval_run_id": "", "subset": subset["subset"], "sample_id": sample.id, "label": sample.label,
                      "predicted": predicted, "match": predicted == sample.label, "threshold": threshold,
                      "step_scores": scores}
                     for sample, predicted, scores in zip(subset["samples"], predictions, subset["scores"])]
        if bench:
            report["weighted_f1"] = weighted_f1(subset["result"] for subset in bench)
        for path, rated in ratings:
            report["prm800k"].append(_prm800k(path, rated, scorer, args.neutral))
    except UsageError as err:
        fail(str(err))
    run_id = hashlib.sha256(json.dumps({"argv": argv, "scorer": spec.key()}, default=str).encode()).hexdigest()[:12]
    report["eval_run_id"] = run_id
    text = _text(report)
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        if rows:
            table = pa.Table.from_pylist([{**r, "eval_run_id": run_id} for r in rows], schema=PROCESSBENCH_V1)
            write_table(table, str(out / "predictions" / shard_name("predictions", 0, 1)))
        (out / "report.json").write_text(json.dumps(report, indent=2))
        (out / "report.md").write_text(text + "\n")
    print(text)
    return report


def _prm800k(path: str, rated: list, scorer, neutral: str) -> dict:
    kept = [(step, label) for step in rated if (label := rating_label(step.rating, neutral)) is not None]
    scores = [float(s) for s in scorer.score([ScoreRequest(step.question, step.steps) for step, _ in kept])] if kept else []
    labels = [label for _, label in kept]
    return {"file": path, "rated_steps": len(rated), "scored_steps": len(kept), "positive": sum(labels),
            "negative": len(labels) - sum(labels), "neutral": neutral, "auc": roc_auc(scores, labels)}


def _text(report: dict) -> str:
    lines = [f"# Scorer benchmark: {report['scorer']}", ""]
    if report["processbench"]:
        lines += [f"ProcessBench (threshold {report['threshold']:.4g}, {report['threshold_rule']}; a step is wrong when "
                  f"its score is below it):", "",
                  "| Subset | Samples | Erroneous acc. (%) | Correct acc. (%) | F1 (%) |", "|---|---:|---:|---:|---:|"]
        for s in report["processbench"]:
            lines.append(f"| {s['subset']} | {s['samples']} | {_pct(s['error_acc'])} ({s['erroneous']}) | "
                         f"{_pct(s['correct_acc'])} ({s['correct']}) | {_pct(s['f1'])} |")
        lines += ["", f"F1 averaged over subsets, weighted by size: {_pct(report.get('weighted_f1'))}%"]
    for r in report["prm800k"]:
        lines += ["", f"PRM800K {r['file']}: step-level ROC AUC {r['auc'] if r['auc'] is None else round(r['auc'], 4)} "
                      f"over {r['scored_steps']} rated steps ({r['positive']} good, {r['negative']} bad; "
                      f"neutral counted {r['neutral']})"]
    return "\n".join(lines)
