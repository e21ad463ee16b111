"""GSM8K calculator annotations -> rStar code steps: exact outputs, then the traces run in the sandbox."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas import SFT_V1
from transforms.bootstrap import ConversionError, gsm8k_to_code_steps, render_trace
from transforms.bootstrap.__main__ import check_trace, run, step_programs
from transforms.step_formats.code import parse_step

SAMPLE = Path(__file__).resolve().parents[3] / "pipelines" / "data" / "gsm8k_train_solutions.jsonl"

NATALIA = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
           "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")


def test_natalia_converts_exactly():
    trace = gsm8k_to_code_steps(NATALIA)
    assert trace.steps == (
        "```python\n# Natalia sold 48/2 = 24 clips in May.\nclips = 48 / 2\nprint(clips)\n```",
        "```python\n# Natalia sold 48+24 = 72 clips altogether in April and May.\nclips_2 = 48 + clips\nprint(clips_2)\n```",
        "The answer is \\boxed{72}.",
    )
    assert trace.outputs == ("24", "72", None) and trace.answer == "72"
    assert render_trace(trace.steps, trace.outputs) == (
        "```python\n# Natalia sold 48/2 = 24 clips in May.\nclips = 48 / 2\nprint(clips)\n```\n```output\n24\n```\n\n"
        "```python\n# Natalia sold 48+24 = 72 clips altogether in April and May.\nclips_2 = 48 + clips\nprint(clips_2)\n```\n"
        "```output\n72\n```\n\nThe answer is \\boxed{72}.")
    # Every step parses as the search parses a sampled step: code steps ok, the last one final.
    parsed = [parse_step(step) for step in trace.steps]
    assert [p.ok for p in parsed] == [True, True, True] and parsed[-1].answer == "72"
    assert parsed[0].reasoning == "Natalia sold 48/2 = 24 clips in May."


def test_prose_lines_wait_for_the_next_code_step_and_numbers_are_cleaned():
    solution = ("First we count.\nThere are 1,000 + 0200 = <<1,000+0200=1200>>1,200 apples and <<3*.5=1.5>>1.5 pears.\n"
                "Then 1200 - 200 = <<1200-200=1000>>1000 apples remain, 1,000 in all.\nSo that is it.\n#### 1,000")
    trace = gsm8k_to_code_steps(solution)
    assert trace.steps == (
        "```python\n# First we count.\n# There are 1,000 + 0200 = 1,200 apples and 1.5 pears.\n"
        "apples = 1000 + 200\nprint(apples)\npears = 3 * 0.5\nprint(pears)\n```",
        "```python\n# Then 1200 - 200 = 1000 apples remain, 1,000 in all.\napples_2 = apples - 200\nprint(apples_2)\n```",
        "So that is it.\nThe answer is \\boxed{1000}.",
    )
    assert trace.outputs == ("1200\n1.5", "1000", None)  # the annotations' results


def test_unconvertible_solutions_say_why():
    with pytest.raises(ConversionError, match="#### answer"):
        gsm8k_to_code_steps("She has 3 apples.")
    with pytest.raises(ConversionError, match="no calculator annotation"):
        gsm8k_to_code_steps("She has 3 apples.\n#### 3")
    with pytest.raises(ConversionError, match="not plain arithmetic"):
        gsm8k_to_code_steps("It is <<import os=1>>1.\n#### 1")
    with pytest.raises(ConversionError, match="not valid arithmetic"):
        gsm8k_to_code_steps("It is <<3+*4=7>>7.\n#### 7")


def test_programs_run_each_step_after_the_earlier_ones():
    trace = gsm8k_to_code_steps(NATALIA)
    first, second = step_programs(trace)
    assert first == "# Natalia sold 48/2 = 24 clips in May.\nclips = 48 / 2\nprint(clips)"
    assert second.endswith("clips = 48 / 2\nprint(clips)\n_treemill_sys.stdout = _treemill_sys.__stdout__\n"
                           "# Natalia sold 48+24 = 72 clips altogether in April and May.\nclips_2 = 48 + clips\nprint(clips_2)")


def test_bundled_sample_runs_in_the_sandbox_and_prints_the_answer(tmp_path):
    """The CLI on the in-repo sample: every kept trace ran step by step in the sandbox and printed
    the gold answer last; the three that cannot are dead rows with the reason."""
    out = tmp_path / "code_sft.jsonl"
    counts = run(["--input", str(SAMPLE), "--output", str(out), "--limit", "40", "--table", str(tmp_path / "table")])
    assert counts == {"read": 40, "written": 37, "dead": 3}
    dead = {d["id"]: d["reason"] for d in map(json.loads, out.with_suffix(".dead.jsonl").read_text().splitlines())}
    assert dead.keys() == {"gsm8k-train-00023", "gsm8k-train-00029", "gsm8k-train-00032"}
    assert "no calculator annotation" in dead["gsm8k-train-00029"]
    assert "is not the answer '5'" in dead["gsm8k-train-00023"]  # its last step (20/4) carries no annotation
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    gold = {r["id"]: r for r in map(json.loads, SAMPLE.read_text().splitlines())}
    for row in rows:
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert row["messages"][1]["content"] == gold[row["id"]]["question"]
        assistant = row["messages"][2]["content"]
        assert assistant.endswith(f"The answer is \\boxed{{{row['gold_answer']}}}.")
        last_output = assistant.rsplit("```output\n", 1)[1].split("\n```", 1)[0].splitlines()[-1]
        assert float(last_output) == pytest.approx(float(row["gold_answer"]))  # real sandbox output
    natalia = next(r for r in rows if r["id"] == "gsm8k-train-00000")["messages"][2]["content"]
    assert "```output\n24.0\n```" in natalia  # Python's own output, not the annotation's "24"
    # The same traces as an sft/v1 table that trainers.sft reads like a label run's.
    table = pq.read_table(tmp_path / "table" / "sft")
    assert table.schema.equals(SFT_V1, check_metadata=False) and table.num_rows == 37
    first = next(r for r in table.to_pylist() if r["problem_id"] == "gsm8k-train-00000")
    assert first["solution"] == natalia and first["rank"] == 1 and first["num_steps"] == len(first["steps"]) == 3
    assert "".join(first["steps"]) == natalia.replace("\n\n", "")


def test_check_trace_rejects_failed_code():
    from transforms.protocols import ExecutionResult

    trace = gsm8k_to_code_steps(NATALIA)
    ok = ExecutionResult("ok", 0, "72.0\n", "", False, 0.01)
    error = ExecutionResult("error", 1, "", "boom", False, 0.01, reason="NameError: x")
    assert check_trace(trace, [ok, ok]).reason is None
    assert "step 1 did not run: error NameError" in check_trace(trace, [error, ok]).reason
    wrong = ExecutionResult("ok", 0, "71\n", "", False, 0.01)
    assert "'71' is not the answer '72'" in check_trace(trace, [ok, wrong]).reason
