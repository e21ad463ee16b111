"""paths.sql and problem_stats.sql on a hand-built stored tree."""

import pyarrow as pa

from queries import run_query
from queries.__main__ import main
from schemas import NODES_V1
from transforms.protocols import Verdict
from transforms.search.tree import Tree
from transforms.io.shards import write_table


def _store(tmp_path):
    tree = Tree("p1", "q", "5")
    a = tree.root.add_child("a1", num_tokens=3)
    a.add_child("a2 answer 5", "answer", is_terminal=True, num_tokens=4, verdict=Verdict(True, "numeric", "5"))
    a.add_child("a2' answer 6", "answer", is_terminal=True, num_tokens=5, verdict=Verdict(False, "numeric", "6"))
    tree.root.add_child("b1 no answer", is_terminal=True, num_tokens=2, verdict=Verdict(None, "no_answer"))
    other = Tree("p2", "q2", "1")
    other.root.add_child("answer 1", "answer", is_terminal=True, num_tokens=1, verdict=Verdict(True, "string", "1"))
    rows = [r for t in (tree, other) for r in t.to_rows(run_id="r", model_id="m", search="s", search_config_hash="h")]
    write_table(pa.Table.from_pylist(rows, schema=NODES_V1), str(tmp_path / "nodes" / "nodes-00000-of-00001.parquet"))
    return str(tmp_path)


def test_paths_rebuilds_every_root_to_leaf_solution(tmp_path):
    shards = _store(tmp_path)
    rows = run_query("paths", shards).fetchall()
    assert [(r[0], r[1], r[2], r[4], r[6]) for r in rows] == [
        ("p1", "0.0", 2, True, "a1  a2 answer 5"),
        ("p1", "0.1", 2, False, "a1  a2' answer 6"),
        ("p1", "1", 1, None, "b1 no answer"),
        ("p2", "0", 1, True, "answer 1"),
    ]


def test_problem_stats_counts_nodes_leaves_and_accuracy(tmp_path):
    shards = _store(tmp_path)
    assert run_query("problem_stats", shards).fetchall() == [
        ("p1", 5, 2, 3, 1, 0.333, 14),
        ("p2", 2, 1, 1, 1, 1.0, 1),
    ]


def test_cli_prints_a_table_and_fails_clearly(tmp_path, capsys):
    shards = _store(tmp_path)
    assert main(["problem_stats", "--shards", shards, "--csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "problem_id,nodes,max_depth,leaves,correct_leaves,leaf_accuracy,tokens" and out[1].startswith("p1,5,2,3,1")
    assert main(["nope", "--shards", shards]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no query 'nope'; available: ") and '"' not in err  # the message, not a repr
    assert main(["paths", "--shards", str(tmp_path / "missing")]) == 2
