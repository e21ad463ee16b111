"""The trainers' command line: bad options are one clear line; a run killed mid-training resumes
from its last complete checkpoint with --resume and continues, rather than starting over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from tests.cli import assert_one_error_line
from trainers.common.cli import main
from trainers.value import ValueConfig, train

REPO = Path(__file__).resolve().parents[2]
run_value = partial(main, "python -m trainers.value", ValueConfig, train, "")


@pytest.mark.parametrize("extra, message", [
    (["--set", "nope=1"], "unknown ValueConfig option(s): nope"),
    (["--set", "epochs"], "KEY=VALUE"),
    (["--set", "value_weight=-1"], "value_weight must be >= 0"),
    (["--set", "data=x"], "give data with --data"),
    (["--set", "precision=fp16"], "precision must be one of"),
])
def test_bad_options_give_one_clear_line(extra, message, capsys, tmp_path):
    assert_one_error_line(run_value, ["--data", str(tmp_path), "--output", str(tmp_path / "o"), *extra], message, capsys)


def test_missing_data_and_existing_checkpoints_are_clear_errors(capsys, tmp_path, hand_export):
    assert_one_error_line(run_value, ["--data", str(tmp_path), "--output", str(tmp_path / "o")],
                          "no 'steps' table under", capsys)
    (tmp_path / "o" / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (tmp_path / "o" / "checkpoints" / "checkpoint-3" / "trainer_state.json").write_text("{}")
    assert_one_error_line(run_value, ["--data", str(hand_export), "--output", str(tmp_path / "o")],
                          "pass --resume", capsys)


def _complete(folder: Path) -> list[int]:
    return sorted(int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").exists())


def test_a_killed_run_resumes_from_its_checkpoint(hand_export, tiny_model_dir, tmp_path):
    out = tmp_path / "value"
    common = ["--data", str(hand_export), "--model", tiny_model_dir, "--output", str(out),
              "--set", "save_steps=1", "--set", "batch_size=16", "--set", "progress=false",
              "--set", "learning_rate=1e-3", "--set", "val_fraction=0.5", "--set", "logging_steps=1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    # Many steps, a checkpoint after each: the run is still going when it is killed.
    proc = subprocess.Popen([sys.executable, "-m", "trainers.value", *common, "--set", "max_steps=500"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while len(_complete(out / "checkpoints")) < 2 or _complete(out / "checkpoints")[-1] < 3:
            assert proc.poll() is None, "the training run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint after 600 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)  # a crash: no clean shutdown, maybe mid-save
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done = _complete(out / "checkpoints")[-1]
    before = json.loads((out / "checkpoints" / f"checkpoint-{done}" / "trainer_state.json").read_text())["log_history"]

    run_value([*common, "--resume", "--set", f"max_steps={done + 2}"])

    newest = max((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert newest.name == f"checkpoint-{done + 2}"
    history = json.loads((newest / "trainer_state.json").read_text())["log_history"]
    steps = [row["step"] for row in history if "loss" in row]
    assert steps == list(range(1, done + 3))  # each step once: continued at done + 1, not restarted
    assert [r for r in history if r["step"] <= done and "loss" in r] == [r for r in before if "loss" in r]
    assert (out / "policy" / "model.safetensors").exists() and (out / "model.safetensors").exists()
