"""Command line: ``python -m transforms.verify check FILE [--summary]``.

Reads JSON lines with ``pred``, ``gold`` and optional ``id`` (``-`` reads stdin) and writes each
line back with ``equal`` (true/false/null) and ``method`` added. Bad lines are reported on stderr
by line number; the run goes on and exits with status 1 at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import IO, Iterable

from transforms.verify.checker import MathVerifier
from transforms.verify.options import VerifyOptions


def _parser() -> argparse.ArgumentParser:
    """Argument parser for the ``check`` subcommand."""
    parser = argparse.ArgumentParser(prog="python -m transforms.verify", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check JSON lines of {pred, gold[, id]}")
    check.add_argument("file", help="JSON lines file, or - for stdin")
    check.add_argument("--summary", action="store_true", help="print counts by method to stderr")
    check.add_argument("--extract", action="store_true",
                       help="pred is a whole solution: extract its answer first (MathVerifier.verify)")
    check.add_argument("--convention", choices=["default", "hendrycks", "mario"], default="default",
                       help="grader convention preset (see VerifyOptions)")
    check.add_argument("--timeout", type=float, default=None, help="symbolic timeout per check, seconds")
    return parser


def _options(args: argparse.Namespace) -> VerifyOptions:
    """Options from the preset and overrides on the command line."""
    presets = {"default": VerifyOptions, "hendrycks": VerifyOptions.hendrycks_math, "mario": VerifyOptions.mario}
    overrides = {"timeout_s": args.timeout} if args.timeout is not None else {}
    return presets[args.convention](**overrides)


def run_check(lines: Iterable[str], out: IO[str], err: IO[str], options: VerifyOptions, summary: bool,
              extract: bool = False) -> int:
    """Check every line; returns the exit status (1 if any line was bad)."""
    counts: Counter[str] = Counter()
    bad = 0
    with MathVerifier(options) as verifier:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = _read_record(line, number, err)
            if record is None:
                bad += 1
                continue
            check = verifier.verify if extract else verifier.check
            verdict = check(str(record["pred"]), str(record["gold"]))
            record["equal"], record["method"] = verdict.equal, verdict.method
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            counts[verdict.method] += 1
    if summary:
        _write_summary(counts, bad, err)
    return 1 if bad else 0


def _read_record(line: str, number: int, err: IO[str]) -> dict | None:
    """The JSON object on ``line``, or None after reporting why it is unusable."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        err.write(f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})\n")
        return None
    if not isinstance(record, dict) or "pred" not in record or "gold" not in record:
        err.write(f"line {number}: expected an object with 'pred' and 'gold'\n")
        return None
    return record


def _write_summary(counts: Counter[str], bad: int, err: IO[str]) -> None:
    """Counts by method (and bad lines) on stderr, so stdout stays JSON lines."""
    total = sum(counts.values())
    err.write(f"checked {total} lines, {bad} bad\n")
    for method, count in counts.most_common():
        err.write(f"  {method}: {count}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    options = _options(args)
    if args.file == "-":
        return run_check(sys.stdin, sys.stdout, sys.stderr, options, args.summary, args.extract)
    with open(args.file, encoding="utf-8") as handle:
        return run_check(handle, sys.stdout, sys.stderr, options, args.summary, args.extract)


if __name__ == "__main__":
    sys.exit(main())
