"""Command line: ``python -m transforms.verify check FILE|- [--summary] [--no-extract] [--convention NAME]``.

Reads JSON lines with ``pred``, ``gold`` and optional ``id`` (``-`` reads stdin) and writes each
line back with ``equal`` (true/false/null) and ``method`` added. ``pred`` is a model output: its
final answer is extracted first (a bare answer extracts to itself), as math-verify's ``parse``
does; ``gold`` may be a bare answer or a whole solution. ``--no-extract`` compares the two strings
as they are. A missing file is a one-line error (exit 2); a bad line is reported on stderr as
``line N, column C: reason``, the other lines are still checked, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import IO, Iterable

from transforms.verify.checker import MathVerifier
from transforms.verify.options import CONVENTIONS, VerifyOptions

BAD_INPUT = 2  # exit status for a missing file or a bad line (argparse uses 2 for bad usage too)


def _parser() -> argparse.ArgumentParser:
    """Argument parser for the ``check`` subcommand."""
    parser = argparse.ArgumentParser(prog="python -m transforms.verify", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check JSON lines of {pred, gold[, id]}")
    check.add_argument("file", help="JSON lines file, or - for stdin")
    check.add_argument("--summary", action="store_true", help="print counts by method to stderr")
    extract = check.add_mutually_exclusive_group()
    extract.add_argument("--extract", dest="extract", action="store_true", default=True,
                         help="pred is a model output: extract its final answer first (the default)")
    extract.add_argument("--no-extract", dest="extract", action="store_false",
                         help="compare pred and gold as given (both already answers)")
    check.add_argument("--convention", choices=sorted(CONVENTIONS), default="default",
                       help="grader convention preset (docs/verify.md lists what each one sets)")
    check.add_argument("--timeout", type=float, default=None, help="symbolic timeout per check, seconds")
    return parser


def _options(args: argparse.Namespace) -> VerifyOptions:
    """Options from the preset and overrides on the command line."""
    overrides = {"timeout_s": args.timeout} if args.timeout is not None else {}
    return VerifyOptions.convention(args.convention, **overrides)


def run_check(lines: Iterable[str], out: IO[str], err: IO[str], options: VerifyOptions, summary: bool,
              extract: bool = True) -> int:
    """Check every line; returns the exit status (``BAD_INPUT`` if any line was unusable)."""
    counts: Counter[str] = Counter()
    bad = 0
    with MathVerifier(options) as verifier:
        check = verifier.verify if extract else verifier.check
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            record = _read_record(line, number, err)
            if record is None:
                bad += 1
                continue
            verdict = check(_text(record["pred"]), _text(record["gold"]))
            record["equal"], record["method"] = verdict.equal, verdict.method
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            counts[verdict.method] += 1
    if summary:
        _write_summary(counts, bad, err)
    return BAD_INPUT if bad else 0


def _read_record(line: str, number: int, err: IO[str]) -> dict | None:
    """The JSON object on ``line`` (newline already stripped), or None after one error line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        err.write(f"line {number}, column {exc.colno}: invalid JSON ({exc.msg})\n")
        return None
    if not isinstance(record, dict):
        err.write(f"line {number}, column 1: expected a JSON object, got {type(record).__name__}\n")
        return None
    for key in ("pred", "gold"):
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = json.dumps(value)  # a GSM8K gold may be a JSON number
        if not isinstance(value, str):
            problem = "missing" if key not in record else f"not a string ({type(record[key]).__name__})"
            err.write(f"line {number}, column 1: '{key}' is {problem}\n")
            return None
    return record


def _text(value: str | int | float) -> str:
    """A field as text (numbers were accepted by ``_read_record``)."""
    return value if isinstance(value, str) else json.dumps(value)


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
    try:
        handle = open(args.file, encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"error: cannot read {args.file}: {exc.strerror or exc}\n")
        return BAD_INPUT
    with handle:
        try:
            return run_check(handle, sys.stdout, sys.stderr, options, args.summary, args.extract)
        except UnicodeDecodeError as exc:
            sys.stderr.write(f"error: {args.file} is not UTF-8 text (byte {exc.start})\n")
            return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
