"""label on DirectRunner over stored hand-built trees: every table, the pair rule by hand, dead
letters, the manifest, relabelling without touching the stored trees, and one-line errors."""

import dataclasses
import hashlib
import json

import duckdb
import pyarrow as pa
import pytest

from pipelines.label import run
from schemas import DEAD_LETTERS_V1
from tests.transforms.labels.hand_trees import write_hand_trees
from transforms.labels.options import option_groups
from transforms.search.tree import node_id
from transforms.io.shards import write_table
from tests.cli import assert_one_error_line


def _digest(folder) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.parquet")))).hexdigest()


def _rows(sql: str) -> list[tuple]:
    return duckdb.sql(sql).fetchall()


@pytest.fixture
def stored(tmp_path):
    """A generate-like folder: hand trees p1, p2 plus unlabellable p3, p4, and one generate dead letter."""
    write_hand_trees(tmp_path)
    write_table(pa.Table.from_pylist([{"stage": "validate", "reason": "no question", "record_id": None, "record": "{}"}],
                                     schema=DEAD_LETTERS_V1), f"{tmp_path}/dead_letters/dead_letters-00000-of-00001.parquet")
    return tmp_path


def test_label_writes_every_table_and_counts_add_up(stored, capsys):
    nodes_before = _digest(stored / "nodes")
    summary = run(["--shards", str(stored), "--num-shards", "2"])

    counts = summary["counts"]
    assert counts["trees_read"] == 4 == counts["trees_labelled"] + counts["dead_letters_label"]
    assert (counts["trees_labelled"], counts["steps"], counts["sft_traces"]) == (2, 26, 3)
    assert (counts["pairs_ppm"], counts["pairs_sibling"], counts["pairs_solution"]) == (5, 4, 6)
    printed = capsys.readouterr().out
    assert "read 4 = labelled 2 + dead-lettered 2" in printed
    # The top reasons with counts (label's own dead letters only, not generate's).
    assert "dead letters: 2 in" in printed and "    1  label: no problems row" in printed

    # The pair rule by hand at p1's root: positives F (Q 1) and A (Q 0: A1's failed code step is left
    # out), negatives C and D (Q -1); A vs D is dropped (texts 2 edits apart, < 20), so 3 pairs, each
    # weighted by 1/(2*2) (tests/transforms/labels/test_pairs.py has the rest).
    root = _rows(f"""SELECT chosen, rejected, margin, pos_count, neg_count FROM '{stored}/pairs/*.parquet'
                     WHERE problem_id = 'p1' AND kind = 'ppm' AND depth = 1 ORDER BY margin DESC, chosen, rejected""")
    assert [(c, r, round(m, 4), p, n) for c, r, m, p, n in root] == [
        ("First, 2 + 3.", "Adding the numbers: 2 + 3 = 6!", 2.0, 2, 2),
        ("First, 2 + 3.", "I will just guess the answer.", 2.0, 2, 2),
        ("Adding the numbers: 2 + 3 = 5.", "I will just guess the answer.", 1.0, 2, 2)]
    # p2 stores rStar's Q: one positive X (0.3), so up to 4 negatives; X vs Y (Q 0.0) fails the 0.5
    # margin and X vs V (Q -0.7) the 20-edit minimum (19 edits).
    p2 = _rows(f"SELECT rejected_q, neg_count FROM '{stored}/pairs/*.parquet' WHERE problem_id = 'p2' AND kind = 'ppm' ORDER BY rejected_q")
    assert p2 == [(-0.9, 4), (-0.8, 4)]
    labels = dict(_rows(f"SELECT path, label FROM '{stored}/steps/*.parquet' WHERE problem_id = 'p1'"))
    assert labels["0"] == 0.5 and labels["5.0.0"] == 1.0 and labels["0.1"] is None  # Math-Shepherd soft
    sft = _rows(f"SELECT problem_id, rank, solution FROM '{stored}/sft/*.parquet' ORDER BY problem_id, rank")
    assert [(p, r) for p, r, _ in sft] == [("p1", 1), ("p1", 2), ("p2", 1)]

    dead = _rows(f"SELECT stage, record_id, reason FROM '{stored}/dead_letters/*.parquet' ORDER BY stage, record_id")
    assert dead[0][:2] == ("label", "p3") and "cannot rebuild the tree" in dead[0][2]
    assert dead[1][:2] == ("label", "p4") and "no problems row" in dead[1][2]
    assert dead[2][0] == "validate"  # generate's dead letters are left alone

    manifest = json.loads((stored / "label" / "manifest.json").read_text())
    config = manifest["config"]  # nested objects, not JSON strings
    assert manifest["pipeline"] == "label" and manifest["verifier"] == "math/1"
    assert config["options"]["ppm"]["min_margin"] == 0.5 and "ppm pairs" in config["label_functions"]
    assert manifest["counts"]["pairs_ppm"] == 5
    run_ids = _rows(f"SELECT DISTINCT label_run_id FROM '{stored}/steps/*.parquet'")
    assert run_ids == [(manifest["run_id"],)]
    assert _digest(stored / "nodes") == nodes_before  # labelling never touches the stored trees


def test_relabel_with_other_options_into_another_folder(stored):
    out = stored / "relabelled"
    summary = run(["--shards", str(stored), "--output", str(out), "--ppm-min-margin", "0.2",
                   "--step-prm-label", "rest", "--no-sft-drop-code-errors", "--sft-top-k", "3",
                   "--solution-mode", "ranked", "--run-id", "r2"])
    assert summary["counts"]["pairs_ppm"] == 6  # p2's X vs Y (margin 0.3, 26 edits) now passes
    assert summary["counts"]["pairs_solution"] == 8  # ranked: up to 4 per problem (p2: X0 vs all 4 wrong)
    labels = dict(_rows(f"SELECT path, label FROM '{out}/steps/*.parquet' WHERE problem_id = 'p1'"))
    assert labels["5"] == pytest.approx(1 / 3) and labels["5.0"] == pytest.approx(2 / 3)  # ReST v_k = k / K
    # A1's code failed: it is no completion, so even with code errors kept in SFT it is not a correct
    # trace; B1 (mean Q 1/2, after A0 by path) takes rank 3.
    sft = _rows(f"SELECT rank, leaf_node_id FROM '{out}/sft/*.parquet' WHERE problem_id = 'p1' ORDER BY rank")
    assert sft == [(1, node_id("p1", (5, 0, 0))), (2, node_id("p1", (0, 0))), (3, node_id("p1", (1, 1)))]
    assert json.loads((out / "label" / "manifest.json").read_text())["run_id"] == "r2"
    assert not (stored / "steps").exists()  # the first folder got nothing


@pytest.mark.parametrize("argv, message", [
    ([], "--shards is required"),
    (["--shards", "/nonexistent"], "no nodes shards"),
    (["--shards", "x", "--ppm-min-margin", "abc"], "invalid float value"),
    (["--shards", "x", "--step-prm-label", "nope"], "invalid choice"),
    (["--shards", "x", "--sft-top-k", "0"], "top_k must be >= 1"),
    (["--shards", "x", "--num-shards", "0"], "--num-shards must be >= 1"),
])
def test_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert_one_error_line(run, argv, message, capsys)


def test_help_documents_every_option(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")  # no wrapping: argparse would split 'rStar-Math' at the hyphen
    with pytest.raises(SystemExit) as exit_info:
        run(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for group, cls in option_groups().items():
        for field in dataclasses.fields(cls):
            flag = f"--{group}-{field.name.replace('_', '-')}"
            assert flag in text and " ".join(field.metadata["help"].split()) in text, flag
