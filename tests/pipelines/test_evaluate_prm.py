"""evaluate prm on hand-made ProcessBench and PRM800K files with the tiny scorer: the written
predictions and the reported metrics must agree with the metric functions on the stored scores."""

import json

import duckdb
import pytest

from pipelines.evaluate import run
from tests.cli import assert_one_error_line
from transforms.evaluate.processbench import best_threshold, predict_error_index, processbench_metrics
from transforms.evaluate.stats import roc_auc
from transforms.protocols import ScoreRequest
from transforms.scorer import ScorerSpec, shared_scorer

BENCH = [
    {"id": "pb-0", "generator": "m", "problem": "What is 2 + 3?", "steps": ["2 + 3 = 5.", "The answer is 5."],
     "final_answer_correct": True, "label": -1},
    {"id": "pb-1", "generator": "m", "problem": "What is 2 + 3?", "steps": ["2 + 3 = 6.", "The answer is 6."],
     "final_answer_correct": False, "label": 0},
    {"id": "pb-2", "generator": "m", "problem": "Double 4, add 1.", "steps": ["4 * 2 = 8.", "8 + 1 = 10.", "So 10."],
     "final_answer_correct": False, "label": 1},
    {"id": "pb-3", "generator": "m", "problem": "Half of 10?", "steps": ["10 / 2 = 5."], "final_answer_correct": True, "label": -1},
]
RATINGS = {"question": {"problem": "What is 2 + 3?"}, "label": {"steps": [
    {"completions": [{"text": "2 + 3 = 5.", "rating": 1}, {"text": "2 + 3 = 6.", "rating": -1}], "chosen_completion": 0},
    {"completions": [{"text": "The answer is 5.", "rating": 1}, {"text": "Maybe 7.", "rating": 0}], "chosen_completion": 0},
]}}


def test_processbench_and_prm800k_reports_match_the_stored_scores(tmp_path, tiny_scorer_dir):
    (tmp_path / "gsm8k.json").write_text(json.dumps(BENCH))
    (tmp_path / "prm800k.jsonl").write_text(json.dumps(RATINGS) + "\n")
    out = tmp_path / "out"
    report = run(["prm", "--data", str(tmp_path / "gsm8k.json"), "--data", str(tmp_path / "prm800k.jsonl"),
                  "--scorer-model", tiny_scorer_dir, "--scorer-param", "activation=sigmoid",
                  "--scorer-param", "dtype=float32", "--threshold", "search", "--output", str(out)])
    rows = duckdb.sql(f"SELECT sample_id, label, predicted, match, threshold, step_scores "
                      f"FROM '{out}/predictions/*.parquet' ORDER BY sample_id").fetchall()
    assert [r[0] for r in rows] == ["pb-0", "pb-1", "pb-2", "pb-3"]
    assert [len(r[5]) for r in rows] == [2, 2, 3, 1] and len({s for r in rows for s in r[5]}) > 3
    scores, labels = [r[5] for r in rows], [r[1] for r in rows]
    threshold, f1 = best_threshold(scores, labels)
    assert report["threshold"] == threshold and "evaluated files themselves" in report["threshold_rule"]
    assert [r[2] for r in rows] == [predict_error_index(s, threshold) for s in scores]
    expected = processbench_metrics(labels, [r[2] for r in rows])
    [subset] = report["processbench"]
    assert subset["subset"] == "gsm8k" and subset["f1"] == expected.f1 == f1 == report["weighted_f1"]
    [ratings] = report["prm800k"]
    assert (ratings["rated_steps"], ratings["positive"], ratings["negative"]) == (4, 3, 1)  # neutral counts positive
    scorer = shared_scorer(ScorerSpec(tiny_scorer_dir, activation="sigmoid", dtype="float32"))  # the same model
    steps = [("2 + 3 = 5.",), ("2 + 3 = 6.",), ("2 + 3 = 5.", "The answer is 5."), ("2 + 3 = 5.", "Maybe 7.")]
    step_scores = scorer.score([ScoreRequest("What is 2 + 3?", s) for s in steps])
    assert ratings["auc"] == roc_auc(step_scores, [True, False, True, True])
    text = (out / "report.md").read_text()
    assert "| gsm8k | 4 |" in text and "step-level ROC AUC" in text

    # A fixed threshold above every sigmoid score flags every first step: correct samples all miss.
    fixed = run(["prm", "--data", str(tmp_path / "gsm8k.json"), "--scorer-model", tiny_scorer_dir,
                 "--scorer-param", "activation=sigmoid", "--threshold", "1.01"])
    [subset] = fixed["processbench"]
    assert subset["correct_acc"] == 0.0 and subset["error_acc"] == 0.5 and subset["f1"] == 0.0


@pytest.mark.parametrize("argv, message", [
    (["prm", "--scorer-model", "m"], "--data is required"),
    (["prm", "--data", "/nonexistent.json", "--scorer-model", "m"], "no such file"),
    (["prm", "--data", "x.json"], "--scorer-model is required"),
    (["prm", "--data", "x", "--scorer-model", "m", "--nope"], "unrecognized arguments"),
])
def test_prm_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert_one_error_line(run, argv, message, capsys)


def test_prm_rejects_bad_rows(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**BENCH[0], "label": 5}]))
    assert_one_error_line(run, ["prm", "--data", str(bad), "--scorer-model", "m"], "label must be -1 or a step index", capsys)
