"""End to end: generate on DirectRunner with the real vLLM engine (tiny model), checked with DuckDB."""

import json

import duckdb
import pytest

from pipelines.generate import run
from tests.cli import assert_one_error_line


def _write_input(path, gsm8k_rows):
    rows = gsm8k_rows[:6]
    lines = [json.dumps(r) for r in rows]
    lines += ['{"id": "no-question", "answer": "3"}', "{not json", json.dumps(rows[0])]  # 3 dead letters
    path.write_text("\n".join(lines) + "\n")
    return len(rows)


def _generate(tmp_path, spec, *extra):
    out = tmp_path / "out"
    argv = ["--input", str(tmp_path / "problems.jsonl"), "--output", str(out), "--model", spec.model,
            "--max-model-len", str(spec.max_model_len), "--kv-cache-gb", str(spec.kv_cache_gb),
            "--num-shards", "2", "--batch-size", "4", *extra]
    return out, run(argv)


def test_generate_writes_verified_trees_that_duckdb_and_datasets_read(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows):
    good = _write_input(tmp_path / "problems.jsonl", gsm8k_rows)
    out, summary = _generate(tmp_path, tiny_policy_spec, "--search-param", "n=3", "--search-param", "max_tokens=48")

    counts = summary["counts"]
    assert counts["read"] == good + 3 == counts["accepted"] + counts["dead_letters_ingest"]
    assert counts["searched"] == good and counts["dead_letters_search"] == 0

    nodes = f"{out}/nodes/*.parquet"
    con = duckdb.connect()
    assert con.execute(f"SELECT count(DISTINCT problem_id) FROM '{nodes}'").fetchall()[0][0] == good
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE parent_id IS NULL").fetchall()[0][0] == good
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE depth = 1").fetchall()[0][0] == 3 * good
    orphans = con.execute(f"""SELECT count(*) FROM '{nodes}' c WHERE parent_id IS NOT NULL AND NOT EXISTS
                              (SELECT 1 FROM '{nodes}' p WHERE p.node_id = c.parent_id)""").fetchall()[0][0]
    assert orphans == 0
    unverified = con.execute(f"SELECT count(*) FROM '{nodes}' WHERE is_terminal AND verdict_method IS NULL").fetchall()[0][0]
    assert unverified == 0
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE is_terminal").fetchall()[0][0] == 3 * good
    tokens = con.execute(f"SELECT sum(num_tokens) FROM '{nodes}'").fetchall()[0][0]
    assert tokens == counts["generated_tokens"] > 0
    reasons = sorted(r[0] for r in con.execute(f"SELECT stage FROM '{out}/dead_letters/*.parquet'").fetchall())
    assert reasons == ["dedupe", "validate", "validate"]

    import datasets

    loaded = datasets.load_dataset("parquet", data_files=nodes, split="train")
    assert len(loaded) == counts["nodes"] and "verdict" in loaded.column_names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pipeline"] == "generate" and manifest["counts"]["nodes"] == counts["nodes"]


def test_rerun_writes_the_same_shards_and_node_ids(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows):
    _write_input(tmp_path / "problems.jsonl", gsm8k_rows)
    out, _ = _generate(tmp_path, tiny_policy_spec, "--search", "greedy", "--search-param", "max_tokens=24")
    first = sorted(p.name for p in (out / "nodes").iterdir())
    query = f"SELECT node_id, step_text FROM '{out}/nodes/*.parquet' ORDER BY node_id"
    before = duckdb.sql(query).fetchall()
    _generate(tmp_path, tiny_policy_spec, "--search", "greedy", "--search-param", "max_tokens=24")
    assert sorted(p.name for p in (out / "nodes").iterdir()) == first
    assert duckdb.sql(query).fetchall() == before  # greedy + per-request seeds: same tree


@pytest.mark.parametrize("argv, message", [
    (["--input", "/nonexistent/x.jsonl", "--output", "o"], "no input file matches"),
    (["--input", "x.csv", "--output", "o"], "cannot tell the format"),
    (["--demo", "--search-param", "n=zero"], "cannot read 'zero'"),
    (["--demo", "--search-param", "nope"], "KEY=VALUE"),
    (["--output", "o"], "--input is required"),
])
def test_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert_one_error_line(run, argv, message, capsys)


def test_generate_in_code_step_mode_runs_the_sandbox_end_to_end(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows):
    """Real engine + sandbox in the DoFn. The tiny model writes gibberish, so its steps are mostly
    malformed; execution semantics are covered with a scripted policy in test_code_mode.py."""
    good = _write_input(tmp_path / "problems.jsonl", gsm8k_rows)
    out, summary = _generate(tmp_path, tiny_policy_spec, "--search", "sbs", "--step-format", "rstar",
                             "--search-param", "n=2", "--search-param", "max_depth=2", "--search-param", "max_tokens=24",
                             "--search-param", "rank_by=logprob")
    assert summary["counts"]["searched"] == good
    nodes = f"{out}/nodes/*.parquet"
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE depth > 0 AND exec_status IS NULL").fetchall()[0][0] == 0
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE is_terminal AND verdict_method IS NULL").fetchall()[0][0] == 0
    assert con.execute(f"SELECT count(*) FROM '{nodes}' WHERE depth > 0").fetchall()[0][0] >= good


def test_a_clean_run_is_quiet_and_still_writes_every_table(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows, capfd):
    """No dead letters: dead_letters/ still holds an (empty) shard, as the summary says. The console
    gets stage lines and the summary only; library output is in logs/generate.log. manifest.json
    holds objects and the model's digest."""
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gsm8k_rows[:2]))
    out, summary = _generate(tmp_path, tiny_policy_spec, "--search", "greedy", "--search-param", "max_tokens=16")
    console_out, console_err = capfd.readouterr()
    assert all(line.startswith("[treemill") for line in console_err.splitlines()), console_err
    assert console_out.startswith("treemill generate:") and "dead letters: none" in console_out
    assert f"library logs: {out}/logs/generate.log" in console_out and (out / "logs" / "generate.log").exists()
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{out}/dead_letters/*.parquet'").fetchone()[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["input"] == [str(tmp_path / "problems.jsonl")] and manifest["counts"]["searched"] == 2
    from transforms.policy.models import model_digest

    assert manifest["model_digest"] == model_digest(tiny_policy_spec.model) and len(manifest["model_digest"]) == 64


def test_dead_letters_print_their_top_reasons_with_counts(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows, capsys):
    _write_input(tmp_path / "problems.jsonl", gsm8k_rows)
    out, summary = _generate(tmp_path, tiny_policy_spec, "--search", "greedy", "--search-param", "max_tokens=8", "--limit", "9")
    text = capsys.readouterr().out
    assert f"dead letters: 3 in {out}/dead_letters/, top reasons:" in text
    assert "1  validate: missing question field 'question'" in text
    # Rows are numbered from 1 everywhere: the duplicate of line 1 names row 1, the bad JSON its line 8.
    assert "first seen at" in text and "row 1)" in text
    records = duckdb.connect().execute(f"SELECT record_id FROM '{out}/dead_letters/*.parquet' WHERE stage = 'validate' ORDER BY 1").fetchall()
    assert [r[0].rsplit(":", 1)[1] for r in records] == ["7", "8"]
