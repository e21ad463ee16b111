"""Resumable stages for self-evolution rounds: hashes, a manifest, and the skip-or-run rule.

A stage is one command (``python -m MODULE ARGV``) with the paths it reads and the paths it writes.
Its *key* is a hash of the command and of the content of every input, so a stage is **fresh** when the
manifest holds a record with the same key and its outputs still hash to what was recorded; then it
is skipped. Otherwise it runs, and its record (key, input and output hashes, code version, time) is
written to the manifest at once, so a run killed between stages resumes at the first stage whose
outputs are missing or stale and never redoes a finished one. Changing an input (new problems, a
retrained checkpoint) makes that stage and every stage reading its outputs stale.

Before a stage runs, its record is marked ``running`` with the new key. A stage that was killed while
running (same key) keeps its partial outputs, so a trainer's checkpoints let it resume (``--resume``);
a stage whose finished record has another key (stale) has its outputs removed first, so nothing of
the old inputs is resumed from.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import runpy
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

# Folders that hold resumable scratch state, not results (trainer checkpoints, dataset caches).
SCRATCH = frozenset({"checkpoints", ".cache", "__pycache__"})


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    scratch: tuple[str, ...] = ()  # resumable state (not hashed), removed with the outputs when the stage is stale

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.argv]


def path_hash(path: str | Path) -> str | None:
    """SHA-256 over a file, or over a folder's files (relative names and contents, sorted); None if missing.

    Scratch folders (checkpoints, caches) and manifest files are left out: they change without the
    result changing."""
    path = Path(path)
    if not path.exists():
        return None
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not SCRATCH & set(p.relative_to(path).parts[:-1])
        and not p.name.startswith("manifest"))
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def stage_key(stage: Stage, input_hashes: dict[str, str | None]) -> str:
    payload = json.dumps({"module": stage.module, "argv": list(stage.argv), "inputs": input_hashes}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class StageFailed(RuntimeError):
    pass


def run_in_subprocess(stage: Stage, cwd: str | None = None) -> None:
    """Run the stage's command with this interpreter; the repository root first on the path."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(stage.command(), cwd=cwd or root, env=env)
    if done.returncode != 0:
        raise StageFailed(f"stage {stage.name} failed (exit {done.returncode}): {' '.join(stage.command())}")


def run_in_process(stage: Stage) -> None:
    """Run the stage's module as ``python -m`` would, in this process: a pipeline module's ``run(argv)``
    (its classes stay importable by name, as Beam needs), a package's ``__main__`` through ``runpy``.
    Imports and engines are shared between stages; an exit status other than 0 is a failed stage."""
    saved = sys.argv
    sys.argv = [stage.module, *stage.argv]
    try:
        module = importlib.import_module(stage.module)
        if hasattr(module, "run") and not hasattr(module, "__path__"):
            module.run(list(stage.argv))
        else:
            runpy.run_module(stage.module, run_name="__main__", alter_sys=False)
    except SystemExit as done:
        if done.code not in (None, 0):
            raise StageFailed(f"stage {stage.name} failed (exit {done.code}): python -m {stage.module} {' '.join(stage.argv)}") from None
    finally:
        sys.argv = saved


@dataclass
class Manifest:
    """The per-round record of stages, kept as JSON next to the round's outputs."""

    path: Path
    stages: dict

    @classmethod
    def load(cls, path: str | Path) -> "Manifest":
        path = Path(path)
        return cls(path, json.loads(path.read_text())["stages"] if path.exists() else {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stages": self.stages}, indent=2, sort_keys=True))
        tmp.replace(self.path)  # atomic: a kill never leaves half a manifest

    def is_fresh(self, stage: Stage, key: str) -> bool:
        record = self.stages.get(stage.name)
        if not record or record["key"] != key or record.get("status", "done") != "done":
            return False
        return all(path_hash(p) == record["outputs"].get(p) for p in stage.outputs)


def run_stages(stages: Sequence[Stage], manifest: Manifest, runner: Callable[[Stage], None] = run_in_subprocess,
               code_version: str = "", log: Callable[[str], None] = print) -> list[str]:
    """Run what is not fresh, in order; returns the names of the stages that ran."""
    ran = []
    for stage in stages:
        inputs = {p: path_hash(p) for p in stage.inputs}
        missing = [p for p, h in inputs.items() if h is None]
        if missing:
            raise StageFailed(f"stage {stage.name}: input(s) missing: {', '.join(missing)}")
        key = stage_key(stage, inputs)
        if manifest.is_fresh(stage, key):
            log(f"  {stage.name}: fresh, skipped")
            continue
        record = manifest.stages.get(stage.name)
        if record and record["key"] != key:
            clear_outputs(stage)  # stale: its outputs came from other inputs, never resume from them
        manifest.stages[stage.name] = {"key": key, "status": "running", "module": stage.module}
        manifest.save()
        log(f"  {stage.name}: running python -m {stage.module} {' '.join(stage.argv)}")
        runner(stage)
        outputs = {p: path_hash(p) for p in stage.outputs}
        absent = [p for p, h in outputs.items() if h is None]
        if absent:
            raise StageFailed(f"stage {stage.name} finished without writing {', '.join(absent)}")
        manifest.stages[stage.name] = {
            "key": key, "status": "done", "module": stage.module, "argv": list(stage.argv), "inputs": inputs, "outputs": outputs,
            "code_version": code_version, "finished_at": datetime.now(timezone.utc).isoformat()}
        manifest.save()
        ran.append(stage.name)
    return ran


def clear_outputs(stage: Stage) -> None:
    for output in map(Path, stage.outputs + stage.scratch):
        if output.is_dir():
            shutil.rmtree(output)
        elif output.exists():
            output.unlink()
