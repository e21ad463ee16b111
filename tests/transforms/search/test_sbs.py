"""Step-level beam search: ranking by the value model, beams narrowing as solutions finish."""

import pytest

from tests.transforms.search.step_fakes import StepPolicy, TableScorer, by_steps, run_search
from transforms.search import get_search
from transforms.search.tree import Tree

OK, WRONG = "#### answer: 5", "#### answer: 4"

SCRIPT = {
    (): ["A", "B"],
    ("B",): ["B1", OK],
    ("A",): ["A1", "A2"],
    ("A", "A1"): [WRONG, "A1x"],
    ("A", "A1", "A1x"): ["u", "v"],
}
VALUES = {("A",): 0.2, ("B",): 0.9, ("B", "B1"): 0.5, ("B", OK): 0.8, ("A", "A1"): 0.7, ("A", "A2"): 0.1,
          ("A", "A1", WRONG): 0.3, ("A", "A1", "A1x"): 0.6, ("A", "A1", "A1x", "u"): 0.4, ("A", "A1", "A1x", "v"): 0.45}


def test_beams_follow_the_value_model_and_narrow_as_solutions_finish():
    # B1 = 2, B2 = 2, max_depth 3 (a depth-4 step that states no answer ends: too_many_steps).
    # round 1: root -> A (.2), B (.9): both kept, best first: [B, A]
    # round 2: B -> B1 (.5), OK (.8); A -> A1 (.7), A2 (.1). Top 2: OK (.8, terminal: a solution, the beam
    #          narrows to 1) and A1 (.7).
    # round 3: A1 -> WRONG (.3), A1x (.6). Top 1: A1x.
    # round 4: A1x -> u (.4), v (.45), both at depth 4 > 3 (terminal, unverified). Top 1: v, terminal -> no beam left.
    policy, scorer = StepPolicy(SCRIPT), TableScorer(VALUES)
    [outcome] = run_search("sbs", {"beam_width": "2", "n": "2", "max_depth": "3"}, policy, scorer=scorer)
    assert policy.expanded == [[()], [("B",), ("A",)], [("A", "A1")], [("A", "A1", "A1x")]]
    assert [len(call) for call in scorer.calls] == [2, 4, 2, 2]
    nodes = by_steps(outcome.tree)
    expanded = sorted(steps for steps, n in nodes.items() if n.children and steps)
    assert expanded == [("A",), ("A", "A1"), ("A", "A1", "A1x"), ("B",)]
    # The ranking score is the value_estimate; no Q is stored (issue 9: one scale per column).
    assert nodes[("B", OK)].value_estimate == 0.8 and nodes[("B", OK)].verdict.equal is True
    assert all(n.visits == 0 and n.value_sum == 0.0 and n.q is None for n in nodes.values())
    assert nodes[("A", "A1", "A1x", "v")].is_terminal and nodes[("A", "A2")].value_estimate == 0.1
    assert nodes[("A", "A1", "A1x", "v")].verdict.method == "too_many_steps"


def test_without_a_scorer_beams_rank_by_mean_token_logprob():
    # Mean token logprobs: "A" -1.0, "B" -0.1 (one token each) -> B kept with B1 = 1; B -> OK ends it.
    policy = StepPolicy({(): [("A", -1.0), ("B", -0.1)], ("B",): [OK]})
    [outcome] = run_search("sbs", {"beam_width": "1", "n": "2"}, policy)
    assert policy.expanded == [[()], [("B",)]]
    assert by_steps(outcome.tree)[("B",)].value_estimate == pytest.approx(-0.1)
    assert by_steps(outcome.tree)[("B",)].q is None
    with pytest.raises(AssertionError, match="needs a scorer"):
        run_search("sbs", {"rank_by": "scorer"}, StepPolicy({}))


def test_all_problems_share_each_round():
    policy, scorer = StepPolicy(SCRIPT), TableScorer(VALUES)
    run_search("sbs", {"beam_width": "2", "n": "2", "max_depth": "3"}, policy, [Tree(f"p{i}", "q", "5") for i in range(3)],
               scorer=scorer)
    assert [len(call) for call in policy.calls] == [3, 6, 3, 3]
    assert [len(call) for call in scorer.calls] == [6, 12, 6, 6]


def test_presets():
    algorithm = get_search("sbs")
    assert (algorithm.make_config({"preset": "alphamath-3x5"}).beam_width, algorithm.make_config({"preset": "alphamath-3x5"}).n) == (3, 5)
    assert algorithm.make_config({"preset": "alphamath-1x5"}).beam_width == 1
    with pytest.raises(ValueError, match="beam_width must be >= 1"):
        algorithm.make_config({"beam_width": "0"})
