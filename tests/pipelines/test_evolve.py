"""evolve's round plan and resume rule, with a fake stage runner that writes each stage's declared
outputs (the trainers run in their own tests; here only the orchestration is under test)."""

import json
from pathlib import Path

import pytest

from pipelines.evolve import plan, resolve_args, run
from tests.cli import assert_one_error_line


class FakeRunner:
    """Writes every declared output of a stage (content fixed by the command), records the calls,
    and can fail once at a named stage, as a kill between stages would leave things."""

    def __init__(self, fail_at: tuple[str, str] | None = None):
        self.calls, self.fail_at = [], fail_at

    def __call__(self, stage):
        round_name = next(part for part in Path(stage.outputs[0]).parts if part.startswith("round-"))
        if (round_name, stage.name) == self.fail_at:
            raise SystemExit(137)  # killed
        self.calls.append((round_name, stage.name))
        for output in stage.outputs:
            Path(output).mkdir(parents=True, exist_ok=True)
            (Path(output) / "part-0.txt").write_text(json.dumps([stage.module, list(stage.argv)]))


def _argv(tmp_path, *extra):
    (tmp_path / "train.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n')
    (tmp_path / "heldout.jsonl").write_text('{"question": "2+2?", "answer": "4"}\n')
    return ["--input", str(tmp_path / "train.jsonl"), "--eval-input", str(tmp_path / "heldout.jsonl"),
            "--output", str(tmp_path / "evolve"), "--rounds", "2", *extra]


def test_rstar_plan_chains_the_rounds(tmp_path):
    rounds = plan(resolve_args(_argv(tmp_path)))
    out = tmp_path / "evolve"
    assert [(k, [s.name for s in stages]) for k, stages in rounds] == [
        (0, ["evaluate"]),
        (1, ["generate", "label", "train-sft", "train-ppm", "evaluate"]),
        (2, ["generate", "label", "train-sft", "train-ppm", "evaluate"]),
    ]
    first, second = rounds[1][1], rounds[2][1]
    assert "preset=rstar-round1" in first[0].argv and "--scorer-model" not in first[0].argv
    gen2 = list(second[0].argv)
    assert gen2[gen2.index("--model") + 1] == str(out / "round-1" / "policy")
    assert gen2[gen2.index("--scorer-model") + 1] == str(out / "round-1" / "ppm")
    assert "preset=rstar-ppm" in gen2
    ppm = list(second[3].argv)
    assert second[3].module == "trainers.ppm" and ppm[ppm.index("--model") + 1] == str(out / "round-2" / "policy")
    assert "max_rank=2" in second[2].argv  # rStar-Math: SFT on the top-2 traces
    baseline = list(rounds[0][1][0].argv)
    assert baseline[baseline.index("--model") + 1] == "default" and "--scorer-model" not in baseline
    final_eval = list(second[4].argv)
    assert final_eval[final_eval.index("--scorer-model") + 1] == str(out / "round-2" / "ppm")


def test_alphamath_plan_takes_the_policy_from_the_value_folder(tmp_path):
    rounds = plan(resolve_args(_argv(tmp_path, "--recipe", "alphamath")))
    second = rounds[2][1]
    assert [s.name for s in second] == ["generate", "label", "train-value", "evaluate"]
    gen = list(second[0].argv)
    out = tmp_path / "evolve" / "round-1"
    assert gen[gen.index("--model") + 1] == str(out / "value" / "policy")
    assert gen[gen.index("--scorer-model") + 1] == str(out / "value") and "preset=alphamath-value" in gen


def test_resume_after_a_kill_runs_only_what_is_missing_or_stale(tmp_path, capsys):
    argv = _argv(tmp_path)
    first = FakeRunner(fail_at=("round-2", "train-sft"))
    with pytest.raises(SystemExit):
        run(argv, runner=first)
    # round 0, round 1, and round 2's generate and label finished before the kill
    assert len(first.calls) == 1 + 5 + 2 and first.calls[-2:] == [("round-2", "generate"), ("round-2", "label")]

    again = FakeRunner()
    ran = run(argv, runner=again)
    assert ran == {0: [], 1: [], 2: ["train-sft", "train-ppm", "evaluate"]}  # never redoes a finished stage
    assert run(argv, runner=FakeRunner()) == {0: [], 1: [], 2: []}

    # A lost output is stale: only that stage runs again (its output comes back the same, so later stages stay fresh).
    ppm = tmp_path / "evolve" / "round-1" / "ppm" / "part-0.txt"
    ppm.unlink()
    assert run(argv, runner=FakeRunner()) == {0: [], 1: ["train-ppm"], 2: []}
    # New training problems make round 1's generate stale, and everything that reads what it wrote anew.
    (tmp_path / "train.jsonl").write_text('{"question": "1+2?", "answer": "3"}\n')
    assert run(argv, runner=FakeRunner()) == {0: [], 1: ["generate"], 2: ["generate"]}
    manifest = json.loads((tmp_path / "evolve" / "round-1" / "manifest.json").read_text())["stages"]
    assert set(manifest) == {"generate", "label", "train-sft", "train-ppm", "evaluate"}
    assert manifest["generate"]["inputs"][str(tmp_path / "train.jsonl")] and manifest["generate"]["code_version"]


@pytest.mark.parametrize("extra, message", [
    (["--rounds", "0"], "--rounds must be >= 1"),
    (["--train-set", "epochs=2"], "TRAINER:KEY=VALUE"),
])
def test_bad_arguments(tmp_path, extra, message, capsys):
    assert_one_error_line(run, _argv(tmp_path, *extra), message, capsys)


def test_heldout_must_differ_from_training(tmp_path, capsys):
    argv = _argv(tmp_path)
    argv[argv.index("--eval-input") + 1] = argv[argv.index("--input") + 1]
    assert_one_error_line(run, argv, "must be held out", capsys)


def test_bootstrap_round_zero_converts_then_fine_tunes_in_code_mode(tmp_path):
    solutions = tmp_path / "solutions.jsonl"
    solutions.write_text('{"question": "1+1?", "answer": "1+1=<<1+1=2>>2\\n#### 2"}\n')
    rounds = plan(resolve_args(_argv(tmp_path, "--bootstrap", str(solutions), "--bootstrap-limit", "5",
                                     "--train-set", "bootstrap:epochs=3")))
    out = tmp_path / "evolve" / "round-0"
    boot, sft, baseline = rounds[0][1]
    assert (boot.module, boot.inputs) == ("transforms.bootstrap", (str(solutions),)) and "--limit" in boot.argv
    assert sft.module == "trainers.sft" and sft.inputs[0] == str(out / "bootstrap" / "sft") and "--resume" in sft.argv
    assert "epochs=3" in sft.argv and any(a.startswith("system_prompt=Solve the problem step by step. Write each step as a Python")
                                           for a in sft.argv)  # the rStar code-step instructions generate prompts with
    assert list(baseline.argv)[list(baseline.argv).index("--model") + 1] == str(out / "policy")
    gen = list(rounds[1][1][0].argv)
    assert gen[gen.index("--model") + 1] == str(out / "policy") and gen[gen.index("--step-format") + 1] == "rstar"
    assert list(rounds[2][1][-1].argv)[list(rounds[2][1][-1].argv).index("--step-format") + 1] == "rstar"


def test_a_bootstrap_file_needs_a_format_it_converts_to(tmp_path, capsys):
    solutions = tmp_path / "solutions.jsonl"
    solutions.write_text("{}\n")
    assert_one_error_line(run, _argv(tmp_path, "--bootstrap", str(solutions), "--step-format", "alphamath"),
                          "needs --step-format rstar or text", capsys)


@pytest.mark.parametrize(("row", "easy"), [
    ({"question": "q" * 169, "answer": "Sum 1+2=<<1+2=3>>3\n#### 60"}, True),
    ({"question": "q" * 170, "answer": "#### 3"}, False),     # question too long
    ({"question": "q", "answer": "#### 61"}, False),          # answer over 60
    ({"question": "q", "answer": "#### 2.5"}, False),         # not an integer
    ({"question": "q", "answer": "#### -4"}, True),
])
def test_the_demo_easy_rule(row, easy):
    from pipelines.evolve import is_easy

    assert is_easy(row) is easy


def test_demo_splits_the_bundled_sample_by_its_fixed_rule(tmp_path):
    from pipelines.evolve import DEMO_BOOTSTRAP, DEMO_DATA, is_easy

    args = resolve_args(["--demo", "--output", str(tmp_path / "demo")])
    rows = {r["id"]: r for r in map(json.loads, DEMO_DATA.read_text().splitlines())}
    ids = {name: [json.loads(line)["id"] for line in (tmp_path / "demo" / "data" / f"{name}.jsonl").read_text().splitlines()]
           for name in ("bootstrap", "train", "heldout")}
    number = {name: [int(i.rsplit("-", 1)[1]) for i in found] for name, found in ids.items()}
    assert number["bootstrap"] == list(range(DEMO_BOOTSTRAP))  # the first pool rows, every one
    # round 1 searches every easy pool row the bootstrap did not train on
    assert number["train"] == [i for i in range(DEMO_BOOTSTRAP, 400) if is_easy(rows[f"gsm8k-train-{i:05d}"])]
    assert len(number["train"]) == 43
    # the held-out slice: every easy row of 400-599 (32 of them), never trained on
    assert number["heldout"] == [i for i in range(400, 600) if is_easy(rows[f"gsm8k-train-{i:05d}"])]
    assert len(number["heldout"]) == 32
    assert all(is_easy(rows[i]) for i in ids["train"] + ids["heldout"])
    assert not set(ids["heldout"]) & (set(ids["bootstrap"]) | set(ids["train"]))
    assert args.step_format == "text" and args.recipe == "rstar" and args.rounds == 1
    assert resolve_args(["--demo", "--output", str(tmp_path / "demo"), "--rounds", "2"]).rounds == 2  # user options win
    assert resolve_args(["--demo", "--output", str(tmp_path / "demo"), "--step-format", "rstar"]).step_format == "rstar"


def test_a_stale_generate_loses_its_resume_parts(tmp_path):
    """generate resumes a killed run from _parts/ (same options): new problems must not reuse them."""
    argv = _argv(tmp_path)
    run(argv, runner=FakeRunner())
    parts = tmp_path / "evolve" / "round-1" / "trees" / "_parts"
    parts.mkdir()
    (parts / "run.json").write_text("{}")
    assert run(argv, runner=FakeRunner()) == {0: [], 1: [], 2: []} and parts.exists()  # fresh: untouched
    (tmp_path / "train.jsonl").write_text('{"question": "1+2?", "answer": "3"}\n')
    run(argv, runner=FakeRunner())
    assert not parts.exists()
