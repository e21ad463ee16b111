"""``python -m transforms.sandbox FILE.py``: run one file in the sandbox, print one JSON line.

The line has the fields of ``ExecutionResult``: status, exit_code, stdout, stderr (both
truncated to the default cap), truncated, elapsed_s and reason. The exit status says how the
program ended, so shell scripts can test it: 0 when it ran to completion (status ok), 124 when it
ran out of wall-clock time (status timeout, as coreutils' ``timeout``), 1 for any other failure
(error, killed, sandbox_error). It exits 2 (with a message on stderr and no JSON line) when the
arguments are wrong or FILE cannot be read. ``--timeout SECONDS`` sets the wall-clock limit
(and the CPU-time limit with it); the default is SandboxLimits' 10 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from transforms.protocols import ExecutionResult
from transforms.sandbox.executor import SandboxExecutor
from transforms.sandbox.limits import SandboxLimits
from transforms.sandbox.worker import failure_result


def run_file(path: str, limits: SandboxLimits = SandboxLimits()) -> ExecutionResult:
    """Execute the file at ``path`` under ``limits`` with a one-worker executor."""
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        code = handle.read()
    start = time.monotonic()
    try:
        executor = SandboxExecutor(limits, workers=1, cache_bytes=0)
    except RuntimeError as exc:
        return failure_result("sandbox_error", str(exc), start)
    with executor:
        return executor.execute(code)


EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 124


def exit_status(result: ExecutionResult) -> int:
    if result.status == "ok":
        return EXIT_OK
    return EXIT_TIMEOUT if result.status == "timeout" else EXIT_FAILED


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", help="Python file to run in the sandbox")
    parser.add_argument("--timeout", type=_seconds, default=SandboxLimits().timeout_s, metavar="SECONDS",
                        help=f"wall-clock (and CPU-time) limit in seconds (default {SandboxLimits().timeout_s:g})")
    args = parser.parse_args(argv)
    limits = dataclasses.replace(SandboxLimits(), timeout_s=args.timeout, cpu_s=args.timeout)
    try:
        result = run_file(args.file, limits)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(dataclasses.asdict(result), ensure_ascii=False))
    return exit_status(result)


if __name__ == "__main__":
    sys.exit(main())
