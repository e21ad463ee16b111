"""Trainer fixtures: the hand-tree export as data, each trainer run once per session on the tiny
model, and one vLLM pooling engine that every trained scorer is loaded into in turn."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.transforms.labels.hand_trees import write_hand_trees

# Small and fast on the tiny model; high learning rates so that a few steps visibly fit. One batch
# holds the whole training set, so each logged loss is the loss on all of it.
FAST = dict(batch_size=16, logging_steps=1, progress=False, save_total_limit=1)


@pytest.fixture(scope="session")
def hand_export(tmp_path_factory) -> Path:
    """generate-like shards of the hand trees -> label -> export: 3 problems (2 with traces),
    26 steps, 21 pairs, 3 SFT traces."""
    from pipelines.export import run as export
    from pipelines.label import run as label

    shards = tmp_path_factory.mktemp("hand-shards")
    write_hand_trees(shards)
    label(["--shards", str(shards)])
    out = tmp_path_factory.mktemp("hand-export")
    export(["--shards", str(shards), "--output", str(out), "--no-plots"])
    return out


@pytest.fixture(scope="session")
def sft_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    from trainers.sft import SFTConfig, train

    # seed 2 holds p1 out: the policy fits p2's single trace, validation runs on p1's two.
    return train(SFTConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path_factory.mktemp("sft")),
                           max_steps=60, learning_rate=2e-3, val_fraction=0.5, seed=2, save_steps=30, **FAST))


@pytest.fixture(scope="session")
def ppm_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    from trainers.ppm import PPMConfig, train

    return train(PPMConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path_factory.mktemp("ppm")),
                           max_steps=16, learning_rate=1e-3, val_fraction=0.5, seed=0, save_steps=8, **FAST))


@pytest.fixture(scope="session")
def prm_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    from trainers.prm import PRMConfig, train

    return train(PRMConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path_factory.mktemp("prm")),
                           max_steps=16, learning_rate=1e-3, val_fraction=0.5, seed=0, save_steps=8, **FAST))


@pytest.fixture(scope="session")
def value_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    from trainers.value import ValueConfig, train

    return train(ValueConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path_factory.mktemp("value")),
                             max_steps=16, learning_rate=1e-3, val_fraction=0.5, seed=0, save_steps=8, **FAST))


def log_history(out: Path) -> list[dict]:
    """The Trainer's log of the newest checkpoint under out/checkpoints."""
    newest = max((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return json.loads((newest / "trainer_state.json").read_text())["log_history"]


@contextmanager
def engine_weights(llm, folder, original):
    """Load ``folder``'s weights into a running vLLM engine (vLLM's in-place reload, as RL weight
    syncs do), and put ``original``'s back afterwards: a shared engine must leave as it came."""
    llm.collective_rpc("reload_weights", kwargs={"weights_path": str(folder)})
    llm.reset_prefix_cache()
    try:
        yield llm
    finally:
        llm.collective_rpc("reload_weights", kwargs={"weights_path": str(original)})
        llm.reset_prefix_cache()


@pytest.fixture(scope="session")
def pooling_engine(ppm_out, tiny_policy):
    """One vLLM pooling scorer for all trained scorers (same architecture: the tiny model with a
    one-label head), started on the PPM folder; other folders are reloaded into it. Kept for the
    session, like every in-process engine (tests/transforms/scorer explains why)."""
    from transforms.scorer import ScorerSpec, shared_scorer

    return shared_scorer(ScorerSpec(str(ppm_out), backend="vllm", max_model_len=512, kv_cache_gb=0.25))
