"""``python -m transforms.bootstrap``: GSM8K train solutions -> an SFT-ready jsonl of rStar code traces
(or, with ``--step-format text``, of prose steps).

    python -m transforms.bootstrap --input train.jsonl --output code_sft.jsonl [--limit 500] [--table DIR]
    python -m transforms.bootstrap --step-format text --input train.jsonl --output text_sft.jsonl

Each row of the input needs ``question`` and ``answer`` (the GSM8K solution with ``<<...>>``
annotations and ``#### answer``; ``id`` is kept if present). Every converted trace is executed in
the sandbox, step by step as the search does (each step's cumulative code); a trace is written only
if every step runs and the last printed value equals the final answer. The output blocks hold the
sandbox's real output. Written rows: ``{id, question, gold_answer, messages}`` with the rStar
system prompt, the question and the trace (TRL's conversational SFT layout). Rows that fail go to
``OUTPUT.dead.jsonl`` with the reason: read = written + dead. ``--table DIR`` also writes the kept
traces as an ``sft`` table (schema sft/v1, ``DIR/sft/``) that ``python -m trainers.sft --data DIR``
reads as it reads a label run (rank 1, Q 1: every kept trace is a correct one).

``--step-format text`` writes the solutions as prose steps (``gsm8k_text``: one step per line,
annotations removed, blank lines between steps, ``\\boxed{answer}`` last) with the text search's
system prompt; nothing needs to run, so only rows that do not convert are dead.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from transforms.bootstrap import FORMATS
from transforms.bootstrap.gsm8k_code import ConversionError, CodeTrace, gsm8k_to_code_steps, render_trace
from transforms.bootstrap.gsm8k_text import gsm8k_to_text_steps
from transforms.search.base import DEFAULT_SYSTEM_PROMPT
from transforms.step_formats.code import RSTAR, cumulative_code, format_output, parse_step

DEFAULT_INPUT = Path(__file__).resolve().parents[2] / "pipelines" / "data" / "gsm8k_train_solutions.jsonl"


@dataclass(frozen=True)
class Checked:
    """A converted trace with the sandbox's outputs; ``reason`` says why it is rejected (None: kept)."""

    trace: CodeTrace
    outputs: tuple[str | None, ...]
    reason: str | None


def step_programs(trace: CodeTrace) -> list[str]:
    """The program the sandbox runs for each code step: all earlier steps' code (silenced), then its own."""
    codes = [parse_step(step, RSTAR).code for step in trace.steps if step.startswith(RSTAR.code_open)]
    return [cumulative_code(codes[:i + 1]) for i in range(len(codes))]


def same_number(printed: str, answer: str) -> bool:
    try:
        return math.isclose(float(printed), float(answer), rel_tol=1e-6, abs_tol=1e-9)
    except ValueError:
        return False


def check_trace(trace: CodeTrace, results) -> Checked:
    """Attach the executions' outputs; reject a trace whose code fails or prints another answer."""
    outputs = [format_output(r, RSTAR) for r in results] + [None]
    failed = next((i for i, r in enumerate(results) if not r.ok), None)
    if failed is not None:
        return Checked(trace, tuple(outputs), f"step {failed + 1} did not run: {results[failed].status} {results[failed].reason or ''}".strip())
    last = results[-1].stdout.strip().splitlines()[-1:] if results else []
    if not last or not same_number(last[0], trace.answer):
        return Checked(trace, tuple(outputs), f"last printed value {last[0] if last else None!r} is not the answer {trace.answer!r}")
    return Checked(trace, tuple(outputs), None)


def run(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m transforms.bootstrap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(DEFAULT_INPUT), help=f"GSM8K-format jsonl (default: the bundled {DEFAULT_INPUT.name})")
    parser.add_argument("--output", required=True, help="jsonl to write (dead rows go to OUTPUT.dead.jsonl)")
    parser.add_argument("--limit", type=int, help="convert only the first N rows")
    parser.add_argument("--timeout", type=float, default=10.0, help="wall-clock seconds per execution (default 10)")
    parser.add_argument("--table", help="also write the kept traces as an sft table in DIR/sft/ (for trainers.sft --data DIR)")
    parser.add_argument("--step-format", choices=FORMATS, default="rstar",
                        help="rstar code steps run in the sandbox (default) or prose text steps")
    args = parser.parse_args(argv)
    rows, dead = _read(args.input, args.limit)
    written = code_traces(rows, dead, args.timeout) if args.step_format == "rstar" else text_traces(rows, dead)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "steps"}) + "\n" for r in written))
    if args.table:
        write_sft_table(written, args.table, args.input, "" if args.step_format == "rstar" else args.step_format)
    dead_path = out.with_suffix(".dead.jsonl")
    dead_path.write_text("".join(json.dumps(d) + "\n" for d in dead))
    read = len(written) + len(dead)
    print(f"treemill bootstrap: read {read} = written {len(written)} ({out}) + dead {len(dead)} ({dead_path})")
    return {"read": read, "written": len(written), "dead": len(dead)}


def code_traces(rows: list[dict], dead: list[dict], timeout: float) -> list[dict]:
    """rStar code traces, every step run in the sandbox; failures appended to ``dead``."""
    from transforms.sandbox import SandboxExecutor, SandboxLimits

    converted = []
    for row in rows:
        try:
            converted.append((row, gsm8k_to_code_steps(str(row["answer"]))))
        except (ConversionError, KeyError) as err:
            dead.append({"id": row.get("id"), "reason": f"conversion: {err}"})
    programs = [step_programs(trace) for _, trace in converted]
    with SandboxExecutor(SandboxLimits(timeout_s=timeout, cpu_s=timeout)) as executor:
        flat = executor.execute_many([p for trace_programs in programs for p in trace_programs])
    written, start = [], 0
    for (row, trace), trace_programs in zip(converted, programs):
        checked = check_trace(trace, flat[start:start + len(trace_programs)])
        start += len(trace_programs)
        if checked.reason:
            dead.append({"id": row.get("id"), "reason": checked.reason})
            continue
        written.append(_written(row, trace.answer, RSTAR.instructions, render_trace(trace.steps, checked.outputs),
                                [render_trace([step], [output]) for step, output in zip(trace.steps, checked.outputs)]))
    return written


def text_traces(rows: list[dict], dead: list[dict]) -> list[dict]:
    """Prose traces (nothing to run); rows that do not convert appended to ``dead``."""
    written = []
    for row in rows:
        try:
            trace = gsm8k_to_text_steps(str(row["answer"]))
        except (ConversionError, KeyError) as err:
            dead.append({"id": row.get("id"), "reason": f"conversion: {err}"})
            continue
        written.append(_written(row, trace.answer, DEFAULT_SYSTEM_PROMPT, trace.render(), list(trace.steps)))
    return written


def _written(row: dict, answer: str, system_prompt: str, solution: str, steps: list[str]) -> dict:
    return {"id": row.get("id"), "question": row["question"], "gold_answer": answer, "messages": [
        {"role": "system", "content": system_prompt}, {"role": "user", "content": row["question"]},
        {"role": "assistant", "content": solution}], "steps": steps}


def write_sft_table(written: list[dict], folder: str, source: str, tag: str = "") -> Path:
    """The kept traces as sft/v1 rows: one correct trace per problem (rank 1), Q = 1 on every step.
    The run id is the source file's hash (and ``tag``, e.g. the step format, when given)."""
    import hashlib

    import pyarrow as pa

    from schemas import SFT_V1
    from transforms.io.shards import shard_name, write_table

    run_id = "bootstrap-" + hashlib.sha256(Path(source).read_bytes()).hexdigest()[:12] + (f"-{tag}" if tag else "")
    rows = [{"label_run_id": run_id, "run_id": run_id, "problem_id": str(r["id"]), "leaf_node_id": f"{r['id']}/final",
             "rank": 1, "question": r["question"], "gold_answer": r["gold_answer"], "steps": r["steps"],
             "solution": r["messages"][-1]["content"], "extracted_answer": r["gold_answer"], "mean_q": 1.0, "min_q": 1.0,
             "num_steps": len(r["steps"]), "num_tokens": None, "verifier": f"bootstrap: the reference solution ({tag})" if tag else "bootstrap: sandbox output equals the gold answer"}
            for r in written]
    path = Path(folder) / "sft" / shard_name("sft", 0, 1)
    write_table(pa.Table.from_pylist(rows, schema=SFT_V1), str(path))
    return path


def _read(path: str, limit: int | None) -> tuple[list[dict], list[dict]]:
    rows, dead = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and len(rows) + len(dead) >= limit:
                break
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                dead.append({"id": f"line {number}", "reason": f"not JSON: {err}"})
                continue
            if not isinstance(row, dict) or "question" not in row or "answer" not in row:
                dead.append({"id": f"line {number}", "reason": "needs question and answer fields"})
                continue
            rows.append(row)
    return rows, dead


if __name__ == "__main__":
    run(sys.argv[1:])
    sys.exit(0)
