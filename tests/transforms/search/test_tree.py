import pytest

from transforms.protocols import Verdict
from transforms.search.tree import Tree, node_id, parse_path, path_str


def _sample_tree() -> Tree:
    tree = Tree("p1", "What is 2+3?", "5")
    a = tree.root.add_child("2+3", "text", visits=2, value_sum=1.0)
    a.add_child("answer: 5", "answer", is_terminal=True, verdict=Verdict(True, "string", "5", "answer_is"))
    b = tree.root.add_child("guess", "text")
    b.add_child("answer: 6", "answer", is_terminal=True, q_value=-1.0, verdict=Verdict(False, "string", "6", "answer_is"))
    return tree


def test_ids_come_from_problem_and_path_only():
    assert node_id("p1", (0, 1)) == node_id("p1", (0, 1))
    assert node_id("p1", (0, 1)) != node_id("p1", (1, 0)) != node_id("p2", (0, 1))
    assert path_str((0, 2, 1)) == "0.2.1" and parse_path("0.2.1") == (0, 2, 1) and parse_path("") == ()


def test_rows_link_parents_and_carry_stats():
    rows = _sample_tree().to_rows(run_id="r", model_id="m", search="s", search_config_hash="h", verifier="v/1")
    by_path = {r["path"]: r for r in rows}
    assert list(by_path) == ["", "0", "0.0", "1", "1.0"]
    assert by_path[""]["parent_id"] is None and by_path[""]["depth"] == 0
    assert by_path["0.0"]["parent_id"] == by_path["0"]["node_id"]
    assert by_path["0"]["q_value"] == 0.5  # W/N = 1.0 / 2
    assert by_path["1.0"]["q_value"] == -1.0 and by_path["1.0"]["verdict"] is False
    assert by_path["0.0"]["verifier"] == "v/1" and by_path["0"]["verifier"] is None


def test_round_trip_through_rows_keeps_structure_and_stats():
    tree = _sample_tree()
    rows = tree.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h")
    again = Tree.from_rows(list(reversed(rows)))
    assert again.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h",
                         created_at=rows[0]["created_at"]) == rows
    assert [n.steps() for n in again.root.leaves()] == [("2+3", "answer: 5"), ("guess", "answer: 6")]


def test_from_rows_rejects_orphans_and_mixed_problems():
    rows = _sample_tree().to_rows(run_id="r", model_id="m", search="s", search_config_hash="h")
    with pytest.raises(ValueError, match="no parent"):
        Tree.from_rows([r for r in rows if r["path"] != "1"])
    with pytest.raises(ValueError, match="several problems"):
        Tree.from_rows(rows + [{**rows[0], "problem_id": "other"}])
