"""GSM8K solutions -> prose text steps: exact outputs, the CLI's table, and dead rows with reasons."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from schemas import SFT_V1
from transforms.bootstrap import ConversionError
from transforms.bootstrap.__main__ import run
from transforms.bootstrap.gsm8k_text import gsm8k_to_text_steps
from transforms.search.base import DEFAULT_SYSTEM_PROMPT

SAMPLE = Path(__file__).resolve().parents[3] / "pipelines" / "data" / "gsm8k_train_solutions.jsonl"

NATALIA = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
           "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")


def test_natalia_converts_exactly():
    trace = gsm8k_to_text_steps(NATALIA)
    assert trace.steps == ("Natalia sold 48/2 = 24 clips in May.",
                           "Natalia sold 48+24 = 72 clips altogether in April and May.",
                           "The answer is \\boxed{72}.")
    assert trace.answer == "72"
    assert trace.render() == ("Natalia sold 48/2 = 24 clips in May.\n\n"
                              "Natalia sold 48+24 = 72 clips altogether in April and May.\n\n"
                              "The answer is \\boxed{72}.")


def test_lines_without_annotations_stay_steps_and_separators_are_dropped():
    trace = gsm8k_to_text_steps("She had  12 apples.\n\nShe ate <<12-4=8>>8... no, 4.\n#### 1,008")
    assert trace.steps == ("She had 12 apples.", "She ate 8... no, 4.", "The answer is \\boxed{1008}.")


@pytest.mark.parametrize(("solution", "reason"), [
    ("She had 3 apples.", "no '#### answer' line"),
    ("She had 3 apples.\n####", "empty final answer"),
    ("#### 3", "no solution steps"),
])
def test_unconvertible_solutions_say_why(solution, reason):
    with pytest.raises(ConversionError, match=reason):
        gsm8k_to_text_steps(solution)


def test_cli_writes_prose_traces_and_an_sft_table(tmp_path):
    source = tmp_path / "solutions.jsonl"
    lines = SAMPLE.read_text().splitlines()[:5] + [json.dumps({"id": "bad", "question": "q", "answer": "no answer line"}),
                                                   json.dumps({"id": "x", "question": "q"})]
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "text_sft.jsonl"
    counts = run(["--input", str(source), "--output", str(out), "--table", str(tmp_path / "table"), "--step-format", "text"])
    assert counts == {"read": 7, "written": 5, "dead": 2}  # read = written + dead
    dead = [json.loads(line) for line in out.with_suffix(".dead.jsonl").read_text().splitlines()]
    assert [d["id"] for d in dead] == ["line 7", "bad"] and "no '#### answer' line" in dead[1]["reason"]
    assert dead[0]["reason"] == "needs question and answer fields"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first = rows[0]
    assert first["id"] == "gsm8k-train-00000" and first["gold_answer"] == "72"
    assert first["messages"] == [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
                                 {"role": "user", "content": json.loads(lines[0])["question"]},
                                 {"role": "assistant", "content": gsm8k_to_text_steps(NATALIA).render()}]
    table = pq.read_table(tmp_path / "table" / "sft")
    assert table.schema.equals(SFT_V1, check_metadata=False) and table.num_rows == 5
    row = table.to_pylist()[0]
    assert row["steps"] == list(gsm8k_to_text_steps(NATALIA).steps) and row["num_steps"] == 3
    assert row["run_id"].startswith("bootstrap-") and row["run_id"].endswith("-text")
    assert row["verifier"] == "bootstrap: the reference solution (text)"
