"""evolve end to end on the real engine with the tiny model: a 2-round rstar evolve (bootstrap SFT ->
evaluate; generate -> label -> train-sft -> train-ppm -> evaluate, twice, round 2 searching with round 1's
policy and PPM) is SIGKILLed between stages, then rerun: every finished stage is reused (its manifest
record untouched), a changed held-out problems file makes exactly the stages that read it run again,
and the run completes. Every run is a subprocess (``--in-process`` inside it: one import of torch and
vLLM per run): its engines come and go with its policies, which must not touch this session's engine.

The tiny model writes gibberish, so round 0 teaches it one answer: it is fine-tuned (bootstrap, from
an sft table, as rStar-Math's round 0 trains on a stronger model's traces) on two traces of the same
question, one right (5) and one wrong (6). Sampling from it then gives right and wrong leaves, so
every round has SFT traces and PPM pairs to train on; the test checks the plumbing, not accuracy.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from schemas import SFT_V1
from tests.conftest import REPO
from transforms.io.shards import shard_name, write_table

QUESTION = "{} has 2 apples and gets 3 more. How many apples does {} have now?"
ROUND_STAGES = ["generate", "label", "train-sft", "train-ppm", "evaluate"]


def _write_inputs(folder: Path) -> None:
    def trace(problem_id: str, answer: int) -> dict:
        text = f"The answer is \\boxed{{{answer}}}."
        return {"label_run_id": "hand", "run_id": "hand", "problem_id": problem_id, "leaf_node_id": problem_id,
                "rank": 1, "question": QUESTION.format("Ann", "she"), "gold_answer": str(answer), "steps": [text],
                "solution": text, "extracted_answer": str(answer), "mean_q": 1.0, "min_q": 1.0, "num_steps": 1,
                "num_tokens": None, "verifier": "hand"}

    write_table(pa.Table.from_pylist([trace("right", 5), trace("wrong", 6)], schema=SFT_V1),
                str(folder / "bootstrap" / "sft" / shard_name("sft", 0, 1)))
    _problems(folder / "train.jsonl", ["Ann", "Bob", "Cy", "Di"])
    _problems(folder / "heldout.jsonl", ["Eve", "Flo"])


def _problems(path: Path, names: list[str]) -> None:
    path.write_text("".join(json.dumps({"id": name, "question": QUESTION.format(name, "they"), "answer": "#### 5"}) + "\n"
                            for name in names))


def _argv(folder: Path, model: str) -> list[str]:
    return ["--in-process", "--bootstrap", str(folder / "bootstrap"), "--input", str(folder / "train.jsonl"),
            "--eval-input", str(folder / "heldout.jsonl"), "--output", str(folder / "out"), "--rounds", "2",
            "--model", model, "--search-param", "rollouts=2", "--search-param", "n=4", "--search-param", "max_depth=2",
            "--search-param", "max_tokens=16", "--search-param", "temperature=1.0",
            "--train-set", "bootstrap:learning_rate=3e-3", "--train-set", "bootstrap:max_steps=30",
            "--train-set", "sft:max_steps=2", "--train-set", "sft:learning_rate=1e-4", "--train-set", "ppm:max_steps=1",
            *[f"--train-set={t}:{s}" for t in ("sft", "ppm") for s in ("val_fraction=0", "save_steps=1000", "progress=false")],
            "--eval-methods", "greedy,maj@2,pass@2", "--eval-scorer-methods", "prm-last@2", "--eval-param", "max_tokens=16",
            "--eval-param", "best-of-n.temperature=1.0",
            "--engine-args", "--max-model-len 1024 --kv-cache-gb 0.25 --no-progress --num-shards 1"]


def _manifest(out: Path, k: int) -> dict:
    path = out / f"round-{k}" / "manifest.json"
    return json.loads(path.read_text())["stages"] if path.exists() else {}


ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _run(argv: list[str]) -> dict[int, list[str]]:
    """Run evolve to the end; returns the stages that ran, by round (from its progress lines)."""
    done = subprocess.run([sys.executable, "-m", "pipelines.evolve", *argv], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran: dict[int, list[str]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("round ") and line.endswith(":"):
            ran[int(line[len("round "):-1])] = []
        elif line.startswith("  ") and ": running python -m " in line:
            ran[max(ran)].append(line.split(":", 1)[0].strip())
    return ran


def _run_until_killed(argv: list[str], out: Path, after: tuple[int, str], timeout: float = 300) -> str:
    """Run evolve in a subprocess (its own process group) and SIGKILL the group as soon as stage ``after``
    of its round is recorded as done: the next stage has at most just started."""
    log = out.parent / "killed.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.evolve", *argv], cwd=REPO, env=ENV,
                                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while _manifest(out, after[0]).get(after[1], {}).get("status") != "done":
                assert proc.poll() is None, f"evolve exited ({proc.returncode}) before {after}:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no {after} after {timeout} s:\n{log.read_text()[-3000:]}"
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return log.read_text()


def test_killed_evolve_resumes_and_reuses_finished_stages(tmp_path, tiny_model_dir):
    _write_inputs(tmp_path)
    out = tmp_path / "out"
    argv = _argv(tmp_path, tiny_model_dir)
    _run_until_killed(argv, out, after=(2, "label"))
    before = {k: _manifest(out, k) for k in range(3)}
    assert {name for name, r in before[0].items() if r["status"] == "done"} == {"train-sft", "evaluate"}
    assert all(r["status"] == "done" for r in before[1].values()) and set(before[1]) == set(ROUND_STAGES)
    assert {n for n, r in before[2].items() if r["status"] == "done"} == {"generate", "label"}
    assert (out / "round-1" / "ppm" / "config.json").exists() and (out / "round-1" / "policy" / "config.json").exists()
    gen2 = before[2]["generate"]["argv"]
    assert gen2[gen2.index("--model") + 1] == str(out / "round-1" / "policy")  # round 2 searches with round 1's
    assert gen2[gen2.index("--scorer-model") + 1] == str(out / "round-1" / "ppm")  # policy, guided by its PPM

    # New held-out problems: the evaluations read them, so they (and only they) are stale; round 2 resumes
    # at the stage the kill interrupted. Nothing else runs again.
    _problems(tmp_path / "heldout.jsonl", ["Eve", "Gus"])
    ran = _run(argv)
    assert ran == {0: ["evaluate"], 1: ["evaluate"], 2: ["train-sft", "train-ppm", "evaluate"]}
    after = {k: _manifest(out, k) for k in range(3)}
    for k in range(3):
        for name, record in before[k].items():
            if record["status"] == "done" and name != "evaluate":
                assert after[k][name] == record, f"round {k} {name} was redone"  # same key, hashes, finish time
    assert after[1]["evaluate"]["key"] != before[1]["evaluate"]["key"]
    assert all(r["status"] == "done" for k in range(3) for r in after[k].values()) and set(after[2]) == set(ROUND_STAGES)
    report = json.loads((out / "round-2" / "eval" / "report" / "report.json").read_text())
    assert {m["method"] for m in report["methods"] if m["in_table"]} == {"greedy", "maj@2", "pass@2", "prm-last@2"}
    assert _run(argv) == {0: [], 1: [], 2: []}  # finished: a third run reuses everything
