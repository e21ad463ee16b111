"""The first hour on the command line: unknown options are errors with a suggestion (never passed
to Beam to be dropped), Beam's own options pass, --input takes several paths and globs, help is
derived from the search registry, and the console stays quiet (library output goes to a log)."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.common import (UsageError, _ConsoleSplitter, parse_pipeline_args, python_command, quiet_console,
                              unknown_argument_message, write_manifest)
from pipelines.generate import build_parser, resolve_args
from transforms.search import SEARCHES

REPO = Path(__file__).resolve().parents[2]


def cli(module: str, *argv: str) -> subprocess.CompletedProcess:
    """``python -m module argv`` from the repo root, as a user types it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("module, argv, suggestion", [
    ("pipelines.generate", ["--demo", "--serch", "mcts-alphamath"], "did you mean --search?"),
    ("pipelines.label", ["--shards", "x", "--ouptut", "y"], "did you mean --output?"),
    ("pipelines.export", ["--shards", "x", "--output", "y", "--titel", "T"], "did you mean --title?"),
])
def test_a_mistyped_option_is_one_error_line_with_a_suggestion(module, argv, suggestion):
    done = cli(module, *argv)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown option") and suggestion in lines[0]
    assert done.stdout == ""


def test_beam_options_pass_and_others_do_not():
    parser = build_parser()
    args, beam_args = parse_pipeline_args(parser, ["--demo", "--runner", "DirectRunner", "--direct_num_workers=2"])
    assert beam_args == ["--runner", "DirectRunner", "--direct_num_workers=2"] and args.demo
    with pytest.raises(UsageError, match="unknown option --runer .did you mean --runner"):
        parse_pipeline_args(parser, ["--demo", "--runer", "DirectRunner"])
    with pytest.raises(UsageError, match="unexpected argument 'stray'"):
        parse_pipeline_args(parser, ["--demo", "--search", "greedy", "stray"])
    assert unknown_argument_message("--zzzzqqq", ["--search"]) == "unknown option --zzzzqqq"


def test_input_takes_several_paths_and_globs(tmp_path, gsm8k_rows):
    for name, rows in (("a.jsonl", gsm8k_rows[:2]), ("b.jsonl", gsm8k_rows[2:5]), ("c.jsonl", gsm8k_rows[5:6])):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    # What an unquoted `--input data/*.jsonl` becomes after the shell expands it, plus a quoted glob.
    argv = ["--input", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), str(tmp_path / "[c]*.jsonl"),
            "--output", str(tmp_path / "out")]
    args, _, settings, _ = resolve_args(argv)
    assert len(args.input) == 3 and args.input_format == "jsonl" and settings.progress_total == 6
    from transforms.io.ingest import ReadProblems

    records = ReadProblems(args.input, "jsonl", limit=10).records_on_driver()
    assert [r.locator[0].rsplit("/", 1)[1] for r in records] == ["a.jsonl"] * 2 + ["b.jsonl"] * 3 + ["c.jsonl"]
    with pytest.raises(UsageError, match="mixes formats"):
        resolve_args(["--input", str(tmp_path / "a.jsonl"), "x.parquet", "--output", "o"])


def test_generate_help_lists_every_search_parameter_default_and_preset():
    done = cli("pipelines.generate", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # argparse wraps lines
    for name, algorithm in SEARCHES.items():
        assert f"{name}:" in text
        for field in dataclasses.fields(algorithm.config_cls):
            assert f"{field.name}={field.default}" in text
        for preset in algorithm.presets or {}:
            assert preset in text


def test_search_help_details_one_search():
    done = cli("pipelines.generate", "--search-help", "mcts-rstar")
    assert done.returncode == 0 and done.stderr.count("error") == 0
    rstar = SEARCHES["mcts-rstar"]
    for field in dataclasses.fields(rstar.config_cls):
        assert any(line.split()[:1] == [field.name] and line.endswith(f"default {field.default}")
                   for line in done.stdout.splitlines()), field.name
    for name, preset in rstar.presets.items():
        assert f"{name}: " + " ".join(f"{k}={v}" for k, v in preset.params) in done.stdout


def test_python_command_is_the_venv_path_relative_to_here(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / ".venv" / "bin" / "python"))
    monkeypatch.chdir(tmp_path)
    assert python_command() == ".venv/bin/python"
    monkeypatch.chdir(REPO)
    assert python_command() == str(tmp_path / ".venv" / "bin" / "python")


def test_quiet_console_sends_library_output_to_the_log(tmp_path, capfd):
    log = tmp_path / "logs" / "generate.log"
    with quiet_console(log):
        print("vllm says hello")  # library prints (vLLM's log handler writes to stdout)
        os.write(2, b"C++ warning on fd 2\n")
        logging.getLogger("apache_beam").warning("beam warning")
        import warnings

        warnings.warn("a FutureWarning", FutureWarning)
        print("[treemill search] 1/1 problems", file=sys.stderr)
    out, err = capfd.readouterr()
    assert out == "" and err == "[treemill search] 1/1 problems\n"
    text = log.read_text()
    for line in ("vllm says hello", "C++ warning on fd 2", "beam warning", "a FutureWarning"):
        assert line in text
    with quiet_console(log, verbose=True):
        print("shown")
    assert capfd.readouterr().out == "shown\n"


def test_console_splitter_routes_by_line():
    console, log = io.StringIO(), io.StringIO()
    splitter = _ConsoleSplitter(console, log)
    splitter.write("[treemill search] 1/2\r")
    splitter.write("Loading weights: 50%\r[treemill search] 2/2")
    splitter.write("\n")
    assert console.getvalue() == "[treemill search] 1/2\r[treemill search] 2/2\n"
    assert log.getvalue() == "Loading weights: 50%\r"


def test_manifest_json_holds_objects(tmp_path):
    write_manifest(str(tmp_path), {"run_id": "r", "pipeline": "generate", "config": {"input": ["a", "b"]},
                                   "counts": {"nodes": 3}, "model_digest": "ab" * 32})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"] == {"input": ["a", "b"]} and manifest["counts"] == {"nodes": 3}
    import duckdb

    stored = duckdb.connect().execute(f"SELECT config, counts FROM '{tmp_path}/manifest/*.parquet'").fetchone()
    assert json.loads(stored[0]) == {"input": ["a", "b"]} and json.loads(stored[1]) == {"nodes": 3}
