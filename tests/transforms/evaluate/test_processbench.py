"""ProcessBench's earliest-error metric and PRM800K step AUC inputs, on hand-made rows."""

import json
import math

import pytest

from transforms.evaluate.processbench import (
    best_threshold, predict_error_index, processbench_metrics, processbench_sample, prm800k_steps, rating_label,
    read_json_records, weighted_f1, ProcessBenchResult,
)

# (step scores, label): label = earliest wrong step, -1 = all right
ROWS = [
    ([0.9, 0.8], -1),       # a: nothing below 0.5 -> -1, right
    ([0.9, 0.4], -1),       # b: step 1 below 0.5 -> 1, wrong
    ([0.2, 0.9], 0),        # c: -> 0, right
    ([0.7, 0.6, 0.1], 2),   # d: -> 2, right
    ([0.3, 0.2], 1),        # e: -> 0 (too early), wrong
]


def test_prediction_and_metric_by_hand():
    predictions = [predict_error_index(s, 0.5) for s, _ in ROWS]
    assert predictions == [-1, 1, 0, 2, 0]
    result = processbench_metrics([l for _, l in ROWS], predictions)
    assert (result.erroneous, result.erroneous_hit, result.correct, result.correct_hit) == (3, 2, 2, 1)
    assert result.error_acc == pytest.approx(2 / 3) and result.correct_acc == 0.5
    assert result.f1 == pytest.approx(4 / 7)  # 2 * (2/3) * (1/2) / (2/3 + 1/2)
    assert predict_error_index([0.5, 0.49], 0.5) == 1  # equal to the threshold is not wrong


def test_f1_edges_and_weighted_average():
    assert ProcessBenchResult(2, 0, 2, 0).f1 == 0.0
    assert ProcessBenchResult(0, 0, 2, 1).f1 is None
    # F1 0.5 over 10 samples and 1.0 over 30: (5 + 30) / 40
    a, b = ProcessBenchResult(5, 5, 5, 0), ProcessBenchResult(15, 15, 15, 15)
    assert a.f1 == 0.0 and b.f1 == 1.0
    half = ProcessBenchResult(5, 5, 5, 5 // 3)  # error_acc 1, correct_acc 1/5 -> F1 = 2 * 0.2 / 1.2 = 1/3
    assert half.f1 == pytest.approx(1 / 3)
    assert weighted_f1([half, b]) == pytest.approx((10 / 3 + 30) / 40)


def test_best_threshold_finds_the_f1_maximum_by_hand():
    # Right-prediction intervals: a t <= 0.8, b t <= 0.4, c 0.2 < t, d 0.1 < t <= 0.6, e 0.2 < t <= 0.3.
    # Just above 0.2 every sample is right (F1 1.0); just above 0.1 only a, b, d (F1 = 2 * 1/3 / (4/3) = 0.5).
    threshold, f1 = best_threshold([s for s, _ in ROWS], [l for _, l in ROWS])
    assert f1 == 1.0 and threshold == math.nextafter(0.2, math.inf)
    assert [predict_error_index(s, threshold) for s, _ in ROWS] == [l for _, l in ROWS]
    # Brute force over a grid agrees that nothing beats it.
    for t in [i / 100 for i in range(0, 101)]:
        preds = [predict_error_index(s, t) for s, _ in ROWS]
        assert (processbench_metrics([l for _, l in ROWS], preds).f1 or 0) <= f1


def test_rows_are_checked(tmp_path):
    good = {"id": "g-0", "generator": "m", "problem": "p", "steps": ["a", "b"], "final_answer_correct": True, "label": -1}
    assert processbench_sample(good).steps == ("a", "b")
    for bad, message in [({"label": 2}, "label must be"), ({"steps": []}, "non-empty"), ({"label": True}, "label must be")]:
        with pytest.raises(ValueError, match=message):
            processbench_sample({**good, **bad})
    with pytest.raises(ValueError, match="missing field"):
        processbench_sample({"id": "x"})
    listed = tmp_path / "b.json"
    listed.write_text(json.dumps([good, good]))
    lines = tmp_path / "b.jsonl"
    lines.write_text(json.dumps(good) + "\n\n" + json.dumps(good) + "\n")
    assert read_json_records(str(listed)) == read_json_records(str(lines)) == [good, good]
    lines.write_text("{oops\n")
    with pytest.raises(ValueError, match="line 1"):
        read_json_records(str(lines))


PRM800K_LINE = {
    "labeler": "x", "question": {"problem": "Q", "ground_truth_answer": "1"},
    "label": {"steps": [
        {"completions": [{"text": "A", "rating": 1}, {"text": "B", "rating": -1}], "human_completion": None, "chosen_completion": 0},
        {"completions": [{"text": "C", "rating": 0}], "human_completion": {"text": "H", "rating": None}, "chosen_completion": None},
        {"completions": [{"text": "D", "rating": -1}, {"text": "E", "rating": None}], "human_completion": None, "chosen_completion": None},
        {"completions": [{"text": "never reached", "rating": 1}], "human_completion": None, "chosen_completion": 0},
    ], "finish_reason": "found_error"},
}


def test_prm800k_steps_follow_the_chosen_path():
    rated = prm800k_steps(PRM800K_LINE)
    assert [(s.steps, s.rating) for s in rated] == [
        (("A",), 1), (("B",), -1), (("A", "C"), 0), (("A", "H", "D"), -1)]
    assert [rating_label(r, "positive") for r in (1, 0, -1)] == [True, True, False]
    assert rating_label(0, "negative") is False and rating_label(0, "skip") is None
    with pytest.raises(ValueError, match="PRM800K layout"):
        prm800k_steps({"question": "flat"})
