"""``python -m transforms.sandbox FILE.py``: exactly one JSON line, promptly, whatever happens."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from transforms.sandbox import SandboxLimits
from transforms.sandbox.__main__ import run_file

REPO_ROOT = Path(__file__).resolve().parents[3]
FIELDS = {"status", "exit_code", "stdout", "stderr", "truncated", "elapsed_s", "reason"}


def run_cli(path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "transforms.sandbox", str(path), *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_one_json_line(tmp_path):
    program = tmp_path / "ok.py"
    program.write_text("import sympy\nx = sympy.symbols('x')\nprint(sympy.solve(x - 4, x))\n")
    done = run_cli(program)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == FIELDS
    assert (record["status"], record["exit_code"], record["stdout"], record["truncated"]) == ("ok", 0, "[4]\n", False)
    assert record["reason"] is None and record["elapsed_s"] > 0


def test_cli_contains_a_hostile_program(tmp_path):
    program = tmp_path / "hostile.py"
    program.write_text(
        "import os, sys\n"
        "chunk = 'y' * (1 << 20)\n"
        "for _ in range(1024):\n"
        "    sys.stdout.write(chunk)\n"
        "os.kill(os.getppid(), 9)\n"
    )
    start = time.monotonic()
    done = run_cli(program)
    assert time.monotonic() - start < 30
    record = json.loads(done.stdout)
    assert done.returncode == 1  # any failure but a timeout
    assert record["status"] == "killed" and record["truncated"]
    assert "output limit" in record["reason"]
    assert len(record["stdout"]) == SandboxLimits().max_output_bytes


def test_cli_on_a_missing_file_says_why(tmp_path):
    done = run_cli(tmp_path / "nope.py")
    assert done.returncode == 2
    assert done.stdout == "" and "cannot read" in done.stderr


def test_run_file_reports_errors_and_timeouts(tmp_path):
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nprint('partial')\nsys.exit(4)\n")
    looping = tmp_path / "loop.py"
    looping.write_text("while True:\n    pass\n")
    short = SandboxLimits(timeout_s=1, cpu_s=1)
    failed = run_file(str(failing))
    assert (failed.status, failed.exit_code, failed.stdout) == ("error", 4, "partial\n")
    looped = run_file(str(looping), short)
    assert looped.status == "timeout" and looped.elapsed_s < 3


def test_cli_exit_status_says_how_the_program_ended(tmp_path):
    failing = tmp_path / "fail.py"
    failing.write_text("raise SystemExit(3)\n")
    done = run_cli(failing)
    assert done.returncode == 1 and json.loads(done.stdout)["status"] == "error"
    looping = tmp_path / "loop.py"
    looping.write_text("while True:\n    pass\n")
    start = time.monotonic()
    done = run_cli(looping, "--timeout", "1")
    assert done.returncode == 124 and json.loads(done.stdout)["status"] == "timeout"
    assert time.monotonic() - start < 20  # the 10 s default would not have ended it yet
    bad = run_cli(looping, "--timeout", "0")
    assert bad.returncode == 2 and bad.stdout == "" and "must be > 0" in bad.stderr
