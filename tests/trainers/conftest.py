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
def hand_labels(tmp_path_factory) -> Path:
    """generate-like shards of the hand trees, labelled in place: 3 problems (2 with traces),
    26 steps, 15 pairs, 3 SFT traces."""
    from pipelines.label import run as label

    shards = tmp_path_factory.mktemp("hand-shards")
    write_hand_trees(shards)
    label(["--shards", str(shards)])
    return shards


@pytest.fixture(scope="session")
def hand_export(hand_labels, tmp_path_factory) -> Path:
    from pipelines.export import run as export

    out = tmp_path_factory.mktemp("hand-export")
    export(["--shards", str(hand_labels), "--output", str(out), "--no-plots"])
    return out


SCORER_RUN = dict(max_steps=16, learning_rate=1e-3, val_fraction=0.5, seed=0, save_steps=8)


def _train(kind: str, config_name: str, data: Path, model: str, tmp_path_factory, **settings) -> Path:
    import importlib

    module = importlib.import_module(f"trainers.{kind}")
    config = getattr(module, config_name)(data=str(data), model=model, output=str(tmp_path_factory.mktemp(kind)),
                                          **FAST, **settings)
    return module.train(config)


@pytest.fixture(scope="session")
def sft_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    # seed 2 holds p1 out: the policy fits p2's single trace, validation runs on p1's two.
    return _train("sft", "SFTConfig", hand_export, tiny_model_dir, tmp_path_factory,
                  max_steps=60, learning_rate=2e-3, val_fraction=0.5, seed=2, save_steps=30)


@pytest.fixture(scope="session")
def ppm_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    return _train("ppm", "PPMConfig", hand_export, tiny_model_dir, tmp_path_factory, **SCORER_RUN)


@pytest.fixture(scope="session")
def prm_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    return _train("prm", "PRMConfig", hand_export, tiny_model_dir, tmp_path_factory, **SCORER_RUN)


@pytest.fixture(scope="session")
def value_out(hand_export, tiny_model_dir, tmp_path_factory) -> Path:
    return _train("value", "ValueConfig", hand_export, tiny_model_dir, tmp_path_factory, **SCORER_RUN)


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
