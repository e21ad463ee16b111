"""The tree queries on the stored hand trees (p1, p2), with answers worked out by hand.

p1: 16 steps of 10 tokens, 9 terminal steps, 4 correct (A0, A1, B1, F00), E0 undecided, A1's code failed.
p2: 10 steps of 10 tokens, 5 terminal steps, 1 correct (X0); stored MCTS Q.
"""

import pyarrow as pa
import pytest

from queries import run_query
from queries.__main__ import main
from schemas import DEAD_LETTERS_V1, PAIRS_V1, SFT_V1, STEPS_V1
from tests.transforms.labels.hand_trees import node_rows, problem_row, tree_p1, tree_p2, write_hand_trees
from transforms.labels import LabelOptions, label_rows
from transforms.io.shards import write_table


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Stored trees plus their label tables (made without Beam: label_rows is what the pipeline runs)."""
    out = tmp_path_factory.mktemp("labelled")
    write_hand_trees(out, broken=False)
    tables = {"steps": [], "pairs": [], "sft": []}
    for tree in (tree_p1(), tree_p2()):
        labelled = label_rows(node_rows(tree), problem_row(tree), LabelOptions(), "L1")
        for name in tables:
            tables[name] += getattr(labelled, name)
    for name, schema in (("steps", STEPS_V1), ("pairs", PAIRS_V1), ("sft", SFT_V1)):
        write_table(pa.Table.from_pylist(tables[name], schema=schema), f"{out}/{name}/{name}-00000-of-00001.parquet")
    dead = [{"stage": "label", "reason": "cannot rebuild the tree", "record_id": "p3", "record": "{}"}]
    write_table(pa.Table.from_pylist(dead, schema=DEAD_LETTERS_V1), f"{out}/dead_letters/label_dead_letters-00000-of-00001.parquet")
    return str(out)


def _rows(name, shards):
    return run_query(name, shards).fetchall()


def test_difficulty_is_the_fraction_of_correct_leaves(shards):
    # p2: 1/5 = 0.2 <= 1/3 -> hard; p1: 4/9 = 0.4444 -> medium. Hardest first.
    assert _rows("difficulty", shards) == [("p2", 5, 1, 0, 0.2, "hard"), ("p1", 9, 4, 1, 0.4444, "medium")]


def test_q_distribution_by_depth(shards):
    rows = {r[0]: r for r in _rows("q_by_depth", shards)}
    # depth 1: p1 A 0, B 0, C D E -1, F 1; p2 0.3, 0, -0.9, -0.8, -0.7 -> 11 steps, 5 with a search Q,
    # mean (0 + 0 - 3 + 1 + 0.3 + 0 - 2.4) / 11 = -0.3727; positive: F, X = 2/11.
    depth, steps, with_q, with_search_q, mean_q, min_q, *_, max_q, positive = rows[1]
    assert (steps, with_q, with_search_q, mean_q, min_q, max_q, positive) == (11, 11, 5, -0.3727, -1.0, 1.0, 0.1818)
    # depth 2: 14 steps; A1 (code failed) has no Q; four +1 (A0, B1, F0, X0) and nine -1 -> mean -5/13.
    assert rows[2][1:3] == (14, 13) and rows[2][4] == -0.3846
    assert rows[3][1:5] == (1, 1, 0, 1.0)


def test_pairs_per_problem(shards):
    # p1: 3 ppm, 3 sibling, 4 solution; p2: 2 ppm, 1 sibling, 2 solution (tests/transforms/labels/test_pairs.py).
    assert [r[:5] for r in _rows("pairs_per_problem", shards)] == [("p1", 3, 3, 4, 10), ("p2", 2, 1, 2, 5)]


def test_failures_by_reason(shards):
    assert _rows("failures", shards) == [("code", "exec_status=error", 1, 1),
                                         ("dead letter", "label: cannot rebuild the tree", 1, 1),
                                         ("verifier", "verdict_method=no_answer", 1, 1)]


def test_best_path_follows_the_highest_q_child(shards):
    rows = _rows("best_path", shards)
    # p1: F (Q 1) -> F0 (1) -> F00 (1);  p2: X (stored 0.3) -> X0 (1).
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("p1", "5.0.0", 3, True, True, [1.0, 1.0, 1.0]), ("p2", "0.0", 2, True, True, [0.3, 1.0])]
    assert rows[0][6] == "First, 2 + 3.  That equals 5.  \\boxed{5}"


def test_token_cost_per_correct_trace(shards):
    # p1: 160 tokens / 4 correct = 40; correct traces A0, A1, B1 (20 tokens) and F00 (30) -> 22.5.
    # p2: 100 / 1 = 100; X0's trace 20.  All: 260 / 5 = 52; (3*20 + 30 + 20) / 5 = 22.
    assert _rows("tokens_per_correct", shards) == [("p1", 9, 4, 160, 40.0, 22.5), ("p2", 5, 1, 100, 100.0, 20.0),
                                                   ("(all)", 14, 5, 260, 52.0, 22.0)]


def test_cli_prints_a_query_and_fails_in_one_line(shards, capsys):
    # p1 margins: ppm 2, 2, 1; sibling 2, 2, 2; solution 2, 2, 1.5, 1.5 -> 18 / 10 = 1.8.
    assert main(["pairs_per_problem", "--shards", shards, "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["problem_id,ppm,sibling,solution,total,mean_margin",
                                                        "p1,3,3,4,10,1.8"]
    assert main(["nope", "--shards", shards]) == 2
    assert "no query 'nope'" in capsys.readouterr().err
