"""``python -m transforms.verify check``: JSON lines in, JSON lines out, errors on stderr."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from transforms.verify import VerifyOptions
from transforms.verify.__main__ import main, run_check

REPO_ROOT = Path(__file__).resolve().parents[3]


def _run(lines, summary=False):
    out, err = io.StringIO(), io.StringIO()
    status = run_check(lines, out, err, VerifyOptions(), summary)
    return status, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_adds_equal_and_method_and_keeps_fields():
    status, records, err = _run(['{"id": "a", "pred": "1/2", "gold": "0.5", "extra": 1}\n'])
    assert status == 0 and err == ""
    assert records == [{"id": "a", "pred": "1/2", "gold": "0.5", "extra": 1, "equal": True, "method": "numeric"}]


def test_bad_lines_reported_and_skipped():
    lines = ['{"pred": "2", "gold": "3"}\n', "{oops\n", "\n", '{"pred": "4"}\n', '{"pred": "3", "gold": "3"}\n']
    status, records, err = _run(lines)
    assert status == 1
    assert [r["equal"] for r in records] == [False, True]
    assert "line 2:" in err and "line 4:" in err


def test_summary_goes_to_stderr():
    status, records, err = _run(['{"pred": "2", "gold": "2"}\n', '{"pred": "abc", "gold": "2"}\n'], summary=True)
    assert status == 0 and len(records) == 2
    assert "checked 2 lines" in err and "string: 1" in err


def test_file_argument(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"pred": "10", "gold": "10.0"}\n')
    assert main(["check", str(path), "--convention", "hendrycks"]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True


def test_module_reads_stdin():
    proc = subprocess.run(
        [sys.executable, "-m", "transforms.verify", "check", "-", "--summary"],
        input='{"pred": "x=3", "gold": "3"}\nnot json\n', capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["equal"] is True
    assert "line 2: invalid JSON" in proc.stderr and "checked 1 lines" in proc.stderr


def test_extract_flag_reads_whole_solutions(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"pred": "so the total is \\\\boxed{12}", "gold": "12"}\n')
    assert main(["check", str(path), "--extract"]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True
