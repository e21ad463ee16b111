import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.io.ingest import (DEAD, PRESETS, FieldMapping, IngestError, IngestProblems, RawRecord, ReadProblems,
                               detect_format, last_boxed, match_files, problem_from_record)


def _record(payload, row=0):
    return RawRecord("f.jsonl", ("f.jsonl", row), payload)


def test_gsm8k_preset_takes_text_after_hashes_and_drops_thousands_separators():
    row = {"question": "How many?", "answer": "2 + 3 = <<2+3=5>>5\n#### 1,234"}
    problem = problem_from_record(_record(json.dumps(row)), PRESETS["gsm8k"])
    assert problem["gold_answer"] == "1234"
    assert problem["problem_id"].startswith("q-")  # no id field: content hash
    assert json.loads(problem["metadata"])["answer"] == row["answer"]


def test_math_preset_takes_the_last_boxed_with_nested_braces():
    row = {"problem": "Find x.", "solution": "First \\boxed{1}. So $x=\\boxed{\\frac{1}{2}}$.", "unique_id": "train/a/1.json", "level": 2}
    problem = problem_from_record(_record(row), PRESETS["math"])
    assert problem["gold_answer"] == "\\frac{1}{2}" and problem["problem_id"] == "train/a/1.json"
    assert json.loads(problem["metadata"])["level"] == 2
    assert last_boxed("\\fbox{7} and \\boxed {x^{2}}") == "x^{2}"
    assert last_boxed("no box") is None and last_boxed("\\boxed{unclosed") is None


@pytest.mark.parametrize("payload, reason", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "row is a list, not an object"),
    ({"answer": "3"}, "missing question field 'question'"),
    ({"question": "  ", "answer": "3"}, "empty question field"),
    ({"question": "q"}, "missing answer field 'answer'"),
    ({"question": ["q"], "answer": "3"}, "question field 'question' is a list"),
    ({"question": "q", "answer": True}, "answer field 'answer' is a bool"),
    ({"question": "q", "answer": "3", "id": {"x": 1}}, "id field 'id' is a dict"),
])
def test_bad_rows_raise_with_a_reason(payload, reason):
    with pytest.raises(ValueError, match=reason):
        problem_from_record(_record(payload), PRESETS["generic"])


def test_math_row_without_boxed_answer_is_rejected():
    with pytest.raises(ValueError, match="no final answer found"):
        problem_from_record(_record({"problem": "p", "solution": "no box here"}), PRESETS["math"])


def test_unknown_answer_rule_and_unreadable_inputs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown answer rule"):
        FieldMapping(answer_rule="regex")
    with pytest.raises(IngestError, match="no input file matches"):
        match_files(str(tmp_path / "missing*.jsonl"))
    with pytest.raises(IngestError, match="cannot tell the format"):
        detect_format("problems.csv")


def test_ingest_counts_add_up_and_duplicates_keep_the_first_row(tmp_path):
    lines = [
        json.dumps({"id": "a", "question": "1+1?", "answer": "#### 2"}),
        "",  # blank lines are not rows
        "{broken",
        json.dumps({"id": "b", "question": "2+2?", "answer": "#### 4"}),
        json.dumps({"id": "a", "question": "1+1 again?", "answer": "#### 2"}),
        json.dumps({"id": "c", "question": "", "answer": "#### 1"}),
    ]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    parquet = tmp_path / "q.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["d"], "question": ["3+3?"], "answer": ["6"]}), parquet)

    with TestPipeline() as p:
        out = p | IngestProblems(ReadProblems(str(tmp_path / "p.jsonl"), "jsonl"), PRESETS["gsm8k"])
        assert_that(out["problems"] | "Ids" >> beam.Map(lambda r: (r["problem_id"], r["question"])),
                    equal_to([("a", "1+1?"), ("b", "2+2?")]), label="accepted")
        assert_that(out["dead"] | "Reasons" >> beam.Map(lambda d: (d["stage"], d["reason"][:20])),
                    equal_to([("validate", "invalid JSON: Expect"), ("validate", "empty question field"),
                              ("dedupe", "duplicate problem_id")]), label="dead")
    with TestPipeline() as p:
        out = p | "Parquet" >> IngestProblems(ReadProblems(str(parquet), "parquet", limit=5), PRESETS["gsm8k"])
        assert_that(out["problems"] | beam.Map(lambda r: r["gold_answer"]), equal_to(["6"]))
    assert DEAD == "dead"
