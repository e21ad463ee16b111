"""``python -m transforms.sandbox FILE.py``: run one file in the sandbox, print one JSON line.

The line has the fields of ``ExecutionResult``: status, exit_code, stdout, stderr (both
truncated to the default cap), truncated, elapsed_s and reason. The command prints that line and
exits 0 whatever the program does; it exits 2 (with a message on stderr) only when FILE cannot
be read.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transforms.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("file", help="Python file to run in the sandbox")
    args = parser.parse_args(argv)
    try:
        result = run_file(args.file)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(result), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
