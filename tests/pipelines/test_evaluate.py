"""End to end: evaluate on DirectRunner with the real vLLM engine (tiny model) and the tiny scorer,
then re-selection from the stored trees, checked against the written shards with DuckDB."""

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.evaluate import run
from tests.cli import assert_one_error_line

DEMO = Path(__file__).resolve().parents[2] / "pipelines" / "data" / "gsm8k_demo.jsonl"


def _problems(path, count=4):
    rows = [json.loads(line) for line in DEMO.read_text().splitlines()[:count]]
    lines = [json.dumps(r) for r in rows] + ['{"id": "no-question", "answer": "3"}', json.dumps(rows[0])]  # 2 dead letters
    path.write_text("\n".join(lines) + "\n")
    return rows


def _engine_args(spec):
    return ["--model", spec.model, "--max-model-len", str(spec.max_model_len), "--kv-cache-gb", str(spec.kv_cache_gb)]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, tiny_policy, tiny_policy_spec, tiny_scorer_dir):
    tmp = tmp_path_factory.mktemp("evaluate")
    rows = _problems(tmp / "problems.jsonl")
    out = tmp / "out"
    summary = run(["--input", str(tmp / "problems.jsonl"), "--output", str(out), *_engine_args(tiny_policy_spec),
                   "--methods", "greedy,maj@2,pass@2,prm-min@2,prm-prod@2,vote-orm@2,sbs-1x2,mcts@2",
                   "--scorer-model", tiny_scorer_dir, "--scorer-param", "activation=sigmoid",
                   "--search-param", "max_tokens=16", "--search-param", "sbs.max_depth=2",
                   "--search-param", "mcts.max_depth=2", "--search-param", "mcts.n=2",
                   "--batch-size", "4", "--num-shards", "1"])
    return out, rows, summary


def test_evaluate_writes_results_report_and_trees(evaluated):
    out, rows, summary = evaluated
    counts = summary["counts"]
    assert counts["read"] == len(rows) + 2 and counts["dead_letters_ingest"] == 2
    assert counts["evaluated"] == len(rows) and counts["dead_letters_search"] == counts["dead_letters_select"] == 0
    results = f"read_parquet('{out}/results/*.parquet')"
    con = duckdb.connect()
    requested = ["greedy", "maj@2", "pass@2", "prm-min@2", "prm-prod@2", "vote-orm@2", "sbs-1x2", "mcts@2"]
    curve_extra = ["maj@1", "pass@1", "prm-min@1", "prm-prod@1", "vote-orm@1"]
    per_method = dict(con.execute(f"SELECT method, count(*) FROM {results} GROUP BY method").fetchall())
    assert per_method == {m: len(rows) for m in requested + curve_extra}
    assert sorted(r[0] for r in con.execute(f"SELECT DISTINCT method FROM {results} WHERE in_table").fetchall()) == sorted(requested)
    # Every selected answer is one the stored trees hold, with the verdict stored there.
    best_of_n = f"read_parquet('{out}/searches/best-of-n_n=2/nodes/*.parquet')"
    mismatched = con.execute(f"""
        SELECT count(*) FROM {results} r WHERE r.search = 'best-of-n' AND r.answer IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM {best_of_n} n WHERE n.problem_id = r.problem_id AND n.is_terminal
              AND n.extracted_answer = r.answer AND coalesce(n.verdict, false) = r.correct)""").fetchone()[0]
    assert mismatched == 0
    # Tokens: maj@2 reads both samples, so it costs what the stored best-of-n tree holds.
    tokens = con.execute(f"""SELECT (SELECT sum(generated_tokens) FROM {results} WHERE method = 'maj@2'),
                                    (SELECT sum(num_tokens) FROM {best_of_n})""").fetchone()
    assert tokens[0] == tokens[1] > 0
    assert con.execute(f"SELECT count(*) FROM {results} WHERE seconds IS NULL OR seconds <= 0").fetchone()[0] == 0
    assert con.execute(f"SELECT count(*) FROM {results} WHERE scorer_id IS NULL AND (scoring IS NOT NULL OR search LIKE 'mcts%')").fetchone()[0] == 0
    for label in ("greedy", "best-of-n_n=2", "sbs_beam_width=1_n=2", "mcts-alphamath_reward_weight=0_iterations=2"):
        assert con.execute(f"SELECT count(DISTINCT problem_id) FROM read_parquet('{out}/searches/{label}/nodes/*.parquet')").fetchone()[0] == len(rows)
    report = (out / "report" / "report.md").read_text()
    assert "| Method | Accuracy (%) | 95% CI (%) |" in report and "Wilson" in report
    assert all(f"| {m} |" in report for m in requested) and "| maj@1 |" not in report
    assert (out / "report" / "accuracy_vs_n.png").stat().st_size > 1000
    content = json.loads((out / "report" / "report.json").read_text())
    maj = next(m for m in content["methods"] if m["method"] == "maj@2")
    assert maj["problems"] == len(rows) and 0.0 <= maj["ci_low"] <= maj["accuracy"] <= maj["ci_high"] <= 1.0
    assert json.loads((out / "manifest.json").read_text())["pipeline"] == "evaluate"


def test_reselection_from_stored_trees_generates_nothing_and_agrees(evaluated, tiny_scorer_dir, tmp_path):
    out, rows, _ = evaluated
    again = tmp_path / "again"
    summary = run(["--trees", str(out / "searches" / "best-of-n_n=2"), "--output", str(again),
                   "--methods", "maj@2,prm-min@2,prm-last@2,orm@2", "--scorer-model", tiny_scorer_dir,
                   "--orm-model", tiny_scorer_dir, "--scorer-param", "activation=sigmoid", "--num-shards", "1"])
    assert summary["counts"]["evaluated"] == len(rows) and summary["counts"]["generated_tokens"] == 0
    con = duckdb.connect()
    query = "SELECT problem_id, answer, correct, generated_tokens FROM read_parquet('{}/results/*.parquet') WHERE method = '{}' ORDER BY 1"
    for method in ("maj@2", "prm-min@2"):  # same trees, same scorer: the same choices
        assert con.execute(query.format(again, method)).fetchall() == con.execute(query.format(out, method)).fetchall()
    # The ORM here is the same model, so scoring whole solutions picks what the PRM's last step picks.
    assert con.execute(query.format(again, "orm@2")).fetchall() == con.execute(query.format(again, "prm-last@2")).fetchall()
    assert con.execute(f"SELECT count(*) FROM read_parquet('{again}/results/*.parquet') WHERE seconds IS NOT NULL").fetchone()[0] == 0
    assert "n/a" in (again / "report" / "report.md").read_text()  # no search time to report


@pytest.mark.parametrize("argv, message", [
    (["--input", str(DEMO), "--output", "o", "--methods", "best@3"], "unknown method"),
    (["--input", str(DEMO), "--output", "o", "--methods", "prm-min@4"], "need a scorer"),
    (["--input", str(DEMO), "--output", "o", "--methods", "mcts"], "need a scorer"),
    (["--input", str(DEMO), "--output", "o", "--search", "sbs"], "drop --search"),
    (["--input", str(DEMO), "--output", "o", "--search-param", "sbs.max_depth=2"], "no method here runs search 'sbs'"),
    (["--input", str(DEMO), "--output", "o", "--search-param", "beam=2"], "no option 'beam'"),
    (["--trees", "/nonexistent", "--output", "o", "--methods", "maj@2"], "no nodes shards"),
    (["--trees", "/nonexistent", "--output", "o"], "--trees needs --methods"),
    (["--trees", "/nonexistent", "--output", "o", "--methods", "mcts"], "cannot be re-selected"),
    (["--output", "o"], "--input is required"),
])
def test_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert_one_error_line(run, argv, message, capsys)


MATH_ROWS = [
    {"problem": "What is $\\frac{1}{2} + \\frac{1}{2}$?", "solution": "Adding, $\\frac{1}{2} + \\frac{1}{2} = \\boxed{1}$.",
     "level": "Level 1", "type": "Prealgebra", "unique_id": "hand/1"},
    {"problem": "Compute $3^2$.", "solution": "$3^2 = 3 \\cdot 3 = \\boxed{9}$.", "level": "Level 1", "type": "Algebra",
     "unique_id": "hand/2"},
]


@pytest.mark.parametrize("preset, step_format", [("gsm8k", "text"), ("math", "text"), ("gsm8k", "rstar")])
def test_any_gsm8k_or_math_format_file(preset, step_format, tmp_path, tiny_policy, tiny_policy_spec, capfd):
    """Full GSM8K rows (solutions ending in '#### answer') and MATH rows (\\boxed answers); greedy and
    maj@K also in code-step mode (chains grown one executed step at a time). The console is quiet:
    stage lines and the summary; library output goes to logs/evaluate.log."""
    if preset == "gsm8k":
        path = DEMO.parent / "gsm8k_train_solutions.jsonl"
        golds = ["72", "10"]
    else:
        path = tmp_path / "math.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in MATH_ROWS))
        golds = ["1", "9"]
    out = tmp_path / "out"
    summary = run(["--input", str(path), "--preset", preset, "--limit", "2", "--output", str(out),
                   *_engine_args(tiny_policy_spec), "--methods", "greedy,maj@2", "--search-param", "max_tokens=8",
                   "--search-param", "max_depth=2", "--step-format", step_format, "--num-shards", "1"])
    assert summary["counts"]["evaluated"] == 2
    stored = duckdb.sql(f"SELECT DISTINCT gold_answer FROM '{out}/results/*.parquet' ORDER BY 1").fetchall()
    assert [r[0] for r in stored] == sorted(golds)
    console_out, console_err = capfd.readouterr()
    assert all(line.startswith("[treemill") for line in console_err.splitlines()), console_err
    assert console_out.startswith("treemill evaluate:") and f"library logs: {out}/logs/evaluate.log" in console_out
    assert (out / "logs" / "evaluate.log").stat().st_size > 0
    if step_format == "rstar":  # every step went through the code-step parser (and the sandbox, if well formed)
        nodes = f"{out}/searches/best-of-n_n=2/nodes/*.parquet"
        assert duckdb.sql(f"SELECT count(*) FROM '{nodes}' WHERE depth > 0 AND exec_status IS NULL").fetchall() == [(0,)]
