"""SearchDoFn on the real engine (tiny model): how many problems run together (the window) and which
scheduler runs them change when trees are handed on, never what they hold."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.utils.windowed_value import WindowedValue

from transforms.runner.run_search import SearchDoFn, SearchSettings

PARAMS = (("rollouts", "3"), ("n", "2"), ("max_depth", "3"), ("max_tokens", "12"), ("parallel", "2"))


def _search(spec, problems, scheduler, window):
    """Drive the DoFn as a runner does: setup, one bundle of ``problems``, teardown. The rows per
    problem, the dead letters, and how many trees each ``process`` call handed on."""
    settings = SearchSettings(run_id="r", policy=spec, search="mcts-rstar", search_params=PARAMS, scheduler=scheduler)
    dofn = SearchDoFn(settings, window=window)
    dofn.setup()
    dofn.start_bundle()
    per_call = [list(dofn.process(p)) for p in problems]
    at_end = list(dofn.finish_bundle())
    dofn.teardown()
    assert all(isinstance(o.value if isinstance(o, beam.pvalue.TaggedOutput) else o, WindowedValue) for o in at_end)
    outputs = [o for call in per_call for o in call] + [
        beam.pvalue.TaggedOutput(o.tag, o.value.value) if isinstance(o, beam.pvalue.TaggedOutput) else o.value
        for o in at_end]
    trees = {pid: sorted(({k: v for k, v in row.items() if k != "created_at"} for row in rows), key=lambda r: r["path"])
             for pid, rows in (o for o in outputs if not isinstance(o, beam.pvalue.TaggedOutput))}
    dead = [o.value for o in outputs if isinstance(o, beam.pvalue.TaggedOutput)]
    return trees, dead, [len(call) for call in per_call]


@pytest.fixture(scope="module")
def problems(gsm8k_rows):
    return [{"problem_id": r["id"], "question": r["question"], "gold_answer": r["answer"]} for r in gsm8k_rows[:5]]


def test_window_and_scheduler_change_when_trees_come_out_not_the_trees(tiny_policy, tiny_policy_spec, problems):
    reference, dead, _ = _search(tiny_policy_spec, problems, "continuous", window=32)
    assert sorted(reference) == sorted(p["problem_id"] for p in problems) and not dead  # every problem, once
    assert all(len(rows) > 1 for rows in reference.values())

    streamed, dead, per_call = _search(tiny_policy_spec, problems, "continuous", window=2)
    assert streamed == reference and not dead
    assert per_call[:2] == [0, 0] and sum(per_call) >= 1  # the third problem waits until a tree finishes

    batched, dead, per_call = _search(tiny_policy_spec, problems, "lockstep", window=2)
    assert batched == reference and not dead
    assert per_call == [0, 2, 0, 2, 0]  # batches of two; the last, odd problem runs in finish_bundle


def test_window_must_be_positive(tiny_policy_spec):
    settings = SearchSettings(run_id="r", policy=tiny_policy_spec)
    with pytest.raises(ValueError, match="window"):
        SearchDoFn(settings, window=0)
