"""Trainer data in: an export folder and the label-run folder it came from give the same rows, the
split keeps problems apart, and provenance records run ids and file hashes."""

from __future__ import annotations

import pytest

from trainers.common.data import Provenance, load_table, questions, table_files


def test_export_and_label_folders_read_the_same(hand_export, hand_labels, tmp_path):
    shards = hand_labels
    for name in ("steps", "pairs", "sft", "problems"):
        from_export = load_table(hand_export, name, tmp_path / "c1")
        from_labels = load_table(shards, name, tmp_path / "c2")
        assert sorted(map(str, from_export.rows.to_list())) == sorted(map(str, from_labels.rows.to_list()))
        assert table_files(hand_export, name)[0].parent.name == name
    assert questions(hand_export, tmp_path / "c1") == {"p1": "What is 2 + 3?", "p2": "What is 4 * 2?",
                                                       "p3": "What is 1 + 1?"}


def test_provenance_and_run_filter(hand_export, tmp_path):
    provenance = Provenance(str(hand_export))
    pairs = load_table(hand_export, "pairs", tmp_path, provenance=provenance)
    assert provenance.run_ids == {"run-hand"} and len(provenance.label_run_ids) == 1
    assert [len(digest) for _, digest in provenance.files] == [64] * len(provenance.files)
    [label_run] = provenance.label_run_ids
    assert len(load_table(hand_export, "pairs", tmp_path, run_ids=(label_run,)).rows) == len(pairs.rows) == 15  # export test: 15 pairs
    with pytest.raises(ValueError, match="no pairs rows with label_run_id"):
        load_table(hand_export, "pairs", tmp_path, run_ids=("other",))
    with pytest.raises(FileNotFoundError, match="no 'sft' table under"):
        load_table(tmp_path, "sft", tmp_path)


def test_sft_lora_merges_into_a_plain_model(hand_export, tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    from trainers.sft import SFTConfig, train

    out = train(SFTConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path / "lora"), max_steps=3,
                          learning_rate=1e-2, lora_r=4, val_fraction=0.0, progress=False, gradient_checkpointing=True))
    assert not (out / "adapter_config.json").exists()
    base, merged = load_file(f"{tiny_model_dir}/model.safetensors"), load_file(f"{out}/model.safetensors")
    assert set(merged) == set(base)  # no lora_A / lora_B left: the adapters are merged
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not base[name].equal(merged[name])


def test_a_run_that_stops_mid_epoch_is_still_validated(hand_export, tiny_model_dir, tmp_path):
    import json

    from trainers.prm import PRMConfig, train

    out = train(PRMConfig(data=str(hand_export), model=tiny_model_dir, output=str(tmp_path / "prm"), max_steps=2,
                          batch_size=2, val_fraction=0.5, progress=False, loss="mse"))
    [row] = json.loads((out / "treemill_training.json").read_text())["validation"]
    assert row["step"] == 2 and row["epoch"] < 1 and 0 <= row["eval_step_auc"] <= 1
