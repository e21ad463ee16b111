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


def _run(lines, summary=False, extract=True):
    out, err = io.StringIO(), io.StringIO()
    status = run_check(lines, out, err, VerifyOptions(), summary, extract)
    return status, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_adds_equal_and_method_and_keeps_fields():
    status, records, err = _run(['{"id": "a", "pred": "1/2", "gold": "0.5", "extra": 1}\n'])
    assert status == 0 and err == ""
    assert records == [{"id": "a", "pred": "1/2", "gold": "0.5", "extra": 1, "equal": True, "method": "numeric"}]


def test_bad_lines_reported_and_skipped():
    lines = ['{"pred": "2", "gold": "3"}\n', "{oops\n", "\n", '{"pred": "4"}\n', '{"pred": "3", "gold": "3"}\n']
    status, records, err = _run(lines)
    assert status == 2
    assert [r["equal"] for r in records] == [False, True]
    assert err.splitlines() == [
        "line 2, column 2: invalid JSON (Expecting property name enclosed in double quotes)",
        "line 4, column 1: 'gold' is missing",
    ]


def test_column_counts_without_the_newline():
    """The error points at the character, not one past a stripped newline."""
    _, _, err = _run(['{"pred": "1", "gold": "1"} x\n'])
    assert err == "line 1, column 28: invalid JSON (Extra data)\n"
    _, _, err = _run(['{"pred": "1", "gold": \n'])
    assert err == "line 1, column 23: invalid JSON (Expecting value)\n"


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
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["equal"] is True
    assert "line 2, column 1: invalid JSON" in proc.stderr and "checked 1 lines" in proc.stderr


def test_extracts_by_default_and_no_extract_compares_raw(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"pred": "so the total is \\\\boxed{12}", "gold": "The sum is $\\\\boxed{12}$."}\n'
                    '{"pred": "12", "gold": "12"}\n')
    assert main(["check", str(path)]) == 0
    assert [json.loads(line)["equal"] for line in capsys.readouterr().out.splitlines()] == [True, True]
    assert main(["check", str(path), "--no-extract"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["equal"] is not True  # the whole sentence is not the number 12


def test_missing_file_is_one_line_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "absent.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err and "absent.jsonl" in err


def test_numbers_are_accepted_and_other_types_rejected():
    status, records, err = _run(['{"pred": 18, "gold": "18"}\n', '{"pred": ["18"], "gold": "18"}\n'])
    assert status == 2 and records[0]["equal"] is True
    assert err == "line 2, column 1: 'pred' is not a string (list)\n"


def test_conventions_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text('{"pred": "0.1", "gold": "10\\\\%"}\n')
    assert main(["check", str(path), "--convention", "hendrycks"]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is False
    assert main(["check", str(path), "--convention", "mario"]) == 0
    assert json.loads(capsys.readouterr().out)["equal"] is True
