"""label_rows / label_tree: one stored tree in, steps/pairs/sft rows in the derived schemas out."""

import pyarrow as pa
import pytest

from schemas import PAIRS_V1, SFT_V1, STEPS_V1
from tests.transforms.labels.hand_trees import VERIFIER, node_rows, problem_row, tree_p1, tree_p2
from transforms.labels import LabelError, LabelOptions, PpmOptions, StepOptions, label_rows
from transforms.labels.budget import budget_curve, majority_at_k, pass_at_k
from transforms.search.tree import Tree, node_id


def _label(tree, options=LabelOptions()):
    return label_rows(node_rows(tree), problem_row(tree), options, "L1")


def test_rows_fit_the_derived_schemas_and_carry_provenance():
    labelled = _label(tree_p1())
    for rows, schema in ((labelled.steps, STEPS_V1), (labelled.pairs, PAIRS_V1), (labelled.sft, SFT_V1)):
        table = pa.Table.from_pylist(rows, schema=schema)
        assert table.num_rows == len(rows) > 0
    assert {(r["label_run_id"], r["run_id"], r["verifier"]) for r in labelled.steps} == {("L1", "run-hand", VERIFIER)}
    # 16 steps (the root is not a step), 3 ppm + 3 sibling + 4 solution pairs, 2 SFT traces (test_pairs.py).
    assert len(labelled.steps) == 16
    assert [r["kind"] for r in labelled.pairs] == ["ppm"] * 3 + ["sibling"] * 3 + ["solution"] * 4
    assert [r["rank"] for r in labelled.sft] == [1, 2]


def test_step_row_values_for_one_step():
    steps = {r["path"]: r for r in _label(tree_p1()).steps}
    a = steps["0"]
    # A: 2 completions (A1's code failed: left out), 1 correct; terminal Q 0; soft 1/2; ReST m 1, r 0, w 0.5, v 0.5.
    assert (a["completions"], a["correct_completions"], a["q_search"]) == (2, 1, None)
    assert a["q_terminal"] == a["q"] == 0.0
    assert (a["shepherd_hard"], a["shepherd_soft"]) == (1.0, 0.5)
    assert (a["rest_distance"], a["rest_step_reward"], a["rest_weighted_reward"], a["rest_value"]) == (1, 0, 0.5, 0.5)
    assert (a["label"], a["label_source"]) == (0.5, "soft")
    assert a["node_id"] == node_id("p1", (0,)) and a["parent_id"] == node_id("p1", ())
    assert steps["4.0"]["verdict_method"] == "no_answer"
    # The failed code step is in the table but carries no label.
    a1 = steps["0.1"]
    assert a1["exec_status"] == "error" and a1["completions"] == 0
    assert a1["q"] is a1["q_terminal"] is a1["label"] is a1["rest_value"] is None


def test_the_search_decides_whether_its_q_is_trusted():
    """p2 is stored as mcts-rstar: its W/N is rStar's Q (a terminal-reward estimate), so q = q_search.
    The same rows stored as rest-mcts (V in [0, 1]) or sbs get q = q_terminal; q_search still shows W/N."""
    steps = {r["path"]: r for r in _label(tree_p2()).steps}
    assert steps["1"]["q_search"] == steps["1"]["q"] == 0.0 and steps["1"]["q_terminal"] == -1.0
    for search in ("rest-mcts", "sbs"):
        rows = label_rows(node_rows(tree_p2(), search=search), problem_row(tree_p2()), LabelOptions(), "L1").steps
        y = {r["path"]: r for r in rows}["1"]
        assert (y["q_search"], y["q"]) == (0.0, -1.0)
    terminal = LabelOptions(step=StepOptions(q_source="terminal"))
    assert {r["path"]: r for r in _label(tree_p2(), terminal).steps}["1"]["q"] == -1.0


def test_prm_label_option_switches_the_label_column():
    rest = {r["path"]: r["label"] for r in _label(tree_p1(), LabelOptions(step=StepOptions(prm_label="rest"))).steps}
    assert rest["5"] == pytest.approx(1 / 3) and rest["5.0"] == pytest.approx(2 / 3)
    q = {r["path"]: r["label"] for r in _label(tree_p2(), LabelOptions(step=StepOptions(prm_label="q"))).steps}
    assert q["0"] == pytest.approx(0.65)  # stored Q 0.3 -> (0.3 + 1) / 2


def test_pair_and_sft_rows_hold_prompt_parts_and_weights():
    labelled = _label(tree_p1())
    root_pair = labelled.pairs[0]  # ppm at the root: F vs C
    assert root_pair["prefix"] == [] and root_pair["depth"] == 1
    assert (root_pair["pos_count"], root_pair["neg_count"], root_pair["edit_distance"]) == (2, 2, 23)
    loose = LabelOptions(ppm=PpmOptions(min_edit_distance=5))
    leaf_pair = _label(tree_p1(), loose).pairs[3]  # ppm at A: A0 vs A2 (16 edits)
    assert leaf_pair["prefix"] == ["Adding the numbers: 2 + 3 = 5."] and leaf_pair["depth"] == 2
    assert (leaf_pair["pos_count"], leaf_pair["neg_count"], leaf_pair["edit_distance"]) == (1, 1, 16)
    assert leaf_pair["question"] == "What is 2 + 3?"
    solution = labelled.pairs[-1]
    assert solution["prefix"] == [] and (solution["pos_count"], solution["neg_count"]) == (2, 2)
    best = labelled.sft[0]
    assert best["steps"] == ["First, 2 + 3.", "That equals 5.", "\\boxed{5}"]
    assert (best["num_steps"], best["num_tokens"], best["mean_q"], best["extracted_answer"]) == (3, 30, 1.0, "5")


def test_unlabellable_trees_raise_label_error():
    rows = node_rows(tree_p1())
    with pytest.raises(LabelError, match="no problems row"):
        label_rows(rows, None, LabelOptions(), "L")
    with pytest.raises(LabelError, match="cannot rebuild the tree"):
        label_rows([r for r in rows if r["path"] != "0"], problem_row(tree_p1()), LabelOptions(), "L")
    with pytest.raises(LabelError, match="2 searches"):
        label_rows(rows + [{**rows[1], "search": "sbs"}], problem_row(tree_p1()), LabelOptions(), "L")
    with pytest.raises(LabelError, match="2 runs"):
        label_rows(rows + [{**rows[1], "run_id": "other"}], problem_row(tree_p1()), LabelOptions(), "L")


def test_a_tree_without_completions_labels_nothing_but_is_not_an_error():
    tree = Tree("t", "q", "1")
    tree.root.add_child("unfinished")
    labelled = _label(tree)
    assert [r["label"] for r in labelled.steps] == [None] and labelled.pairs == labelled.sft == []


def test_pass_at_k_by_hand():
    # n = 4, c = 1: pass@1 = 1 - C(3,1)/C(4,1) = 1/4; pass@2 = 1 - C(3,2)/C(4,2) = 1 - 3/6 = 1/2.
    assert pass_at_k(4, 1, 1) == 0.25 and pass_at_k(4, 1, 2) == 0.5
    assert pass_at_k(4, 0, 4) == 0.0 and pass_at_k(4, 4, 1) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_majority_at_k_and_curve_by_hand():
    leaves = [("6", False), ("5", True), ("6", False), ("5", True), ("5", True)]
    # k=1: {6} -> wrong; k=2: tie 1-1 -> first seen (6) -> wrong; k=3: 6 x2 vs 5 -> wrong;
    # k=4: tie 2-2 -> 6 -> wrong; k=5: 5 x3 vs 6 x2 -> right.
    assert [majority_at_k(leaves, k) for k in range(1, 6)] == [False, False, False, False, True]
    assert majority_at_k([(None, False)], 1) is False
    # Two problems with 2 leaves each: [ok, wrong] and [wrong, wrong].
    curve = budget_curve([[("5", True), ("6", False)], [("7", False), ("8", False)]])
    # Both over the first k leaves: k=1: pass (1 + 0) / 2, maj (1 + 0) / 2; k=2: pass (1 + 0) / 2,
    # maj: tie -> first '5' -> (1 + 0) / 2. (The unbiased pass@1 would be 1/4, below maj@1.)
    assert curve == [(1, 0.5, 0.5), (2, 0.5, 0.5)]
    # Correct answer only at leaf 2: pass@1 0, pass@2 1; maj@2 is a tie won by the wrong first answer.
    curve = budget_curve([[("6", False), ("5", True), ("5", True)]])
    assert curve == [(1, 0.0, 0.0), (2, 1.0, 0.0), (3, 1.0, 1.0)]
    assert all(maj <= passed for _, passed, maj in curve)


def test_code_mode_sft_traces_keep_the_outputs_the_policy_saw():
    """A code-step trace is stored as the policy writes it with the sandbox's output after each code step
    (the prompt format of the next round), in the format its steps were written in; text traces are
    the steps joined by a blank line."""
    from transforms.labels.traces import Trace

    tree = Tree("p", "q", "5")
    code = tree.root.add_child("```python\nx = 2 + 3\nprint(x)\n```", "code", code="x = 2 + 3\nprint(x)", exec_output="5")
    final = code.add_child("The answer is \\boxed{5}.", "answer")
    assert Trace(final, (1.0, 1.0), True, True).text == \
        "```python\nx = 2 + 3\nprint(x)\n```\n```output\n5\n```\n\nThe answer is \\boxed{5}."
    alpha = Tree("p", "q", "5")
    step = alpha.root.add_child("<step><p>Add.</p><code>print(2 + 3)</code></step>", "code", code="print(2 + 3)", exec_output="5")
    last = step.add_child("<step><p>Final Answer: 5</p></step>", "answer")
    assert Trace(last, (1.0, 1.0), True, True).text == \
        "<step><p>Add.</p><code>print(2 + 3)</code>\n<output>\n5\n</output>\n</step>\n<step><p>Final Answer: 5</p>\n</step>"
    text = Tree("p", "q", "5")
    prose = text.root.add_child("2 + 3 = 5.", "text").add_child("The answer is \\boxed{5}.", "answer")
    assert Trace(prose, (1.0, 1.0), True, True).text == "2 + 3 = 5.\n\nThe answer is \\boxed{5}."
