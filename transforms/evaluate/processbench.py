"""Scorer benchmarks in their published formats: ProcessBench (earliest wrong step) and PRM800K
(per-step human ratings, scored as step-level ROC AUC).

ProcessBench (Zheng et al. 2024, arXiv 2412.06559; data Qwen/ProcessBench, code QwenLM/ProcessBench):
each sample is a solution split into steps with ``label`` = index of the earliest wrong step, or -1
if every step is right. A PRM *predicts* the earliest wrong step as the first step whose score is
below a threshold (-1 if none is). The metric is the accuracy on erroneous samples (label >= 0,
prediction must hit the exact index), the accuracy on correct samples (prediction must be -1), and
their harmonic mean, reported as F1; over several subsets the paper's headline is the average
weighted by subset size (as the official TRL evaluation script prints it).

Threshold: a PRM with a probability output is read at 0.5 (the decision boundary of its
correct/incorrect head, as the official scripts do by argmax); for other score scales the paper
picks the threshold that maximises F1 on the GSM8K subset and applies it to every subset.
``best_threshold`` does that search exactly (over every score at which a prediction changes).
A step counts as wrong when ``score < threshold``.

PRM800K (Lightman et al. 2023, "Let's Verify Step by Step"): each line rates the candidate steps
of a solution 1 / 0 / -1 (good / neutral / bad). Every rated completion is scored after the
chosen steps before it; step-level AUC separates good from bad steps. Neutral steps count as
positive by default (``neutral``: positive, negative or skip).
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

NEUTRAL_RULES = ("positive", "negative", "skip")


@dataclass(frozen=True)
class ProcessBenchSample:
    id: str
    problem: str
    steps: tuple[str, ...]
    label: int
    final_answer_correct: bool | None = None
    generator: str | None = None


def read_json_records(path: str) -> list[dict]:
    """A JSON list of objects, or JSON lines (one object per line)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from None
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path} line {number}: not valid JSON ({err})") from None
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise ValueError(f"{path}: record {bad} is not a JSON object")
    return records


def processbench_sample(record: dict, where: str = "") -> ProcessBenchSample:
    """One ProcessBench row, checked: steps a non-empty list of strings, -1 <= label < len(steps)."""
    missing = [k for k in ("problem", "steps", "label") if k not in record]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)} (ProcessBench rows have id, problem, steps, label)")
    steps, label = record["steps"], record["label"]
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise ValueError(f"{where}: steps must be a non-empty list of strings")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise ValueError(f"{where}: label must be -1 or a step index below {len(steps)}, got {label!r}")
    return ProcessBenchSample(str(record.get("id", where)), str(record["problem"]), tuple(steps), label,
                              record.get("final_answer_correct"), record.get("generator"))


def read_processbench(path: str) -> list[ProcessBenchSample]:
    return [processbench_sample(r, f"{path} record {i}") for i, r in enumerate(read_json_records(path))]


def predict_error_index(step_scores: Sequence[float], threshold: float) -> int:
    """The earliest step scored below ``threshold``, or -1 if none is."""
    return next((i for i, score in enumerate(step_scores) if score < threshold), -1)


@dataclass(frozen=True)
class ProcessBenchResult:
    """error_acc: share of erroneous samples whose earliest error was found exactly; correct_acc:
    share of correct samples predicted -1; f1: their harmonic mean (None if a side has no samples)."""

    erroneous: int
    erroneous_hit: int
    correct: int
    correct_hit: int

    @property
    def error_acc(self) -> float | None:
        return self.erroneous_hit / self.erroneous if self.erroneous else None

    @property
    def correct_acc(self) -> float | None:
        return self.correct_hit / self.correct if self.correct else None

    @property
    def f1(self) -> float | None:
        a, b = self.error_acc, self.correct_acc
        if a is None or b is None:
            return None
        return 0.0 if a + b == 0 else 2 * a * b / (a + b)

    @property
    def samples(self) -> int:
        return self.erroneous + self.correct


def processbench_metrics(labels: Sequence[int], predictions: Sequence[int]) -> ProcessBenchResult:
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions")
    erroneous = [p == l for l, p in zip(labels, predictions) if l != -1]
    correct = [p == -1 for l, p in zip(labels, predictions) if l == -1]
    return ProcessBenchResult(len(erroneous), sum(erroneous), len(correct), sum(correct))


def weighted_f1(results: Iterable[ProcessBenchResult]) -> float | None:
    """The F1 of several subsets averaged with weights = subset sizes (ProcessBench's headline)."""
    scored = [(r.f1, r.samples) for r in results if r.f1 is not None]
    total = sum(n for _, n in scored)
    return sum(f * n for f, n in scored) / total if total else None


def best_threshold(step_scores: Sequence[Sequence[float]], labels: Sequence[int]) -> tuple[float, float]:
    """(threshold, F1): the threshold with the highest ProcessBench F1 on these samples (smallest on ties).

    A sample is predicted right for every threshold t in an interval: a correct sample when
    t <= min(scores); an erroneous one with label L when s_L < t <= min(s_0..s_{L-1}). F1 only changes
    at the interval ends, so those are the only candidates; counting with bisection makes it
    O(n log n) over all samples.
    """
    if len(step_scores) != len(labels) or not labels:
        raise ValueError("need one score list per label, and at least one sample")
    correct_upper = sorted(min(s) for s, l in zip(step_scores, labels) if l == -1)
    lows, highs = [], []
    for scores, label in zip(step_scores, labels):
        if label == -1:
            continue
        high = min(scores[:label], default=math.inf)
        if scores[label] < high:  # else no threshold flags step `label` without flagging an earlier one
            lows.append(scores[label])
            highs.append(high)
    n_correct, n_erroneous = len(correct_upper), sum(1 for l in labels if l != -1)
    lows_sorted, highs_sorted = sorted(lows), sorted(highs)
    candidates = sorted({*correct_upper, *(h for h in highs if h != math.inf),
                         *(math.nextafter(x, math.inf) for x in lows)})
    best = None
    for t in candidates:
        at_least = lambda values: len(values) - bisect.bisect_left(values, t)  # noqa: E731 - count of values >= t
        hits_correct = at_least(correct_upper)
        hits_erroneous = at_least(highs_sorted) - at_least(lows_sorted)
        f1 = ProcessBenchResult(n_erroneous, hits_erroneous, n_correct, hits_correct).f1 or 0.0
        if best is None or f1 > best[1]:
            best = (t, f1)
    return best if best is not None else (0.5, 0.0)


# --------------------------------------------------------------------------------------------
# PRM800K per-step ratings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatedStep:
    """One rated candidate step: the question, the steps up to and including it, its rating."""

    record: int
    question: str
    steps: tuple[str, ...]
    rating: int


def prm800k_steps(record: dict, index: int = 0) -> list[RatedStep]:
    """Every rated completion of one PRM800K line, each after the chosen steps before it.

    After step i the path continues with ``chosen_completion`` (else ``human_completion``); the
    solution's rated steps end where neither exists.
    """
    try:
        question = record["question"]["problem"]
        steps = record["label"]["steps"]
    except (KeyError, TypeError):
        raise ValueError(f"record {index}: not PRM800K layout (needs question.problem and label.steps)") from None
    rated, prefix = [], ()
    for step in steps:
        completions = step.get("completions") or []
        for completion in completions:
            if completion.get("rating") is not None:
                rated.append(RatedStep(index, question, prefix + (completion["text"],), int(completion["rating"])))
        chosen = step.get("chosen_completion")
        if chosen is not None and 0 <= chosen < len(completions):
            prefix += (completions[chosen]["text"],)
        elif step.get("human_completion"):
            prefix += (step["human_completion"]["text"],)
        else:
            break
    return rated


def rating_label(rating: int, neutral: str = "positive") -> bool | None:
    """1 -> True, -1 -> False, 0 -> per ``neutral`` (None = skip)."""
    if neutral not in NEUTRAL_RULES:
        raise ValueError(f"neutral must be one of {', '.join(NEUTRAL_RULES)}, got {neutral!r}")
    if rating > 0:
        return True
    if rating < 0:
        return False
    return {"positive": True, "negative": False, "skip": None}[neutral]
