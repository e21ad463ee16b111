"""export: the dataset folder loads with datasets for every config, the TRL files read back, the
card and plots are there, and --push-to-hub goes through HfApi (mocked: no network). The last test
runs generate -> label -> export end to end with the real engine on the tiny model."""

import json

import datasets
import pyarrow.parquet as pq
import pytest
import yaml

import pipelines.export as export_module
from pipelines.export import run as export
from pipelines.generate import run as generate
from pipelines.label import run as label
from tests.cli import assert_one_error_line
from tests.transforms.labels.hand_trees import write_hand_trees

CONFIGS = ("trees", "problems", "steps", "pairs", "sft", "trl_stepwise", "trl_preference", "trl_sft")


def _card(folder) -> tuple[dict, str]:
    text = (folder / "README.md").read_text()
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def _load(folder, config):
    # datasets caches a local folder by its name: a cache per test keeps runs apart and $HOME clean.
    return datasets.load_dataset(str(folder), config, split="train", cache_dir=str(folder.parent / "hf-cache"))


def test_export_loads_every_config_and_trl_files_read_back(labelled, tmp_path):
    out = tmp_path / "dataset"
    result = export(["--shards", str(labelled), "--output", str(out)])

    # Hand trees: 31 nodes (p1 17, p2 11, p3 2, p4 1); 3 problems rows (p4 has none); 26 steps; 15 pairs (p1 3 ppm + 3 sibling + 4
    # solution, p2 2 + 1 + 2); 3 SFT traces; 13 labelled traces (p1 9 + p2 5, less A1's whose code
    # failed: unlabelled); 15 preference rows; 3 conversations.
    expected = {"trees": 31, "problems": 3, "steps": 26, "pairs": 15, "sft": 3, "trl_stepwise": 13, "trl_preference": 15, "trl_sft": 3}
    assert result["rows"] == expected
    header, body = _card(out)
    assert [c["config_name"] for c in header["configs"]] == list(CONFIGS)
    # Every split has name, num_examples and num_bytes: datasets reads dataset_info without the
    # "splits field in YAML is malformed" warning (a malformed one stays a plain list).
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(header)
    for config in CONFIGS:
        assert isinstance(infos[config].splits, datasets.SplitDict)
        assert infos[config].splits["train"].num_examples == expected[config] and infos[config].splits["train"].num_bytes > 0
    # The trees as a static site, linked from the card.
    assert result["viewer"] == str(out / "viewer" / "index.html") and (out / "viewer" / "trees" / "00001.html").exists()
    assert "viewer/index.html" in body
    for config in CONFIGS:
        assert len(_load(out, config)) == expected[config]

    stepwise = pq.read_table(out / "data" / "trl_stepwise").to_pylist()
    assert list(stepwise[0]) == ["prompt", "completions", "labels"]
    # p1's first trace A -> A0: Math-Shepherd soft labels 1/2 and 1, floats kept.
    assert stepwise[0]["completions"] == ["Adding the numbers: 2 + 3 = 5.", "The answer is \\boxed{5}."]
    assert stepwise[0]["labels"] == pytest.approx([0.5, 1.0])
    preference = _load(out, "trl_preference")
    assert preference.column_names == ["prompt", "chosen", "rejected", "margin"]
    # A step pair below A: the prompt is the question, then the shared step, each followed by a blank line.
    assert "What is 2 + 3?\n\nAdding the numbers: 2 + 3 = 5.\n\n" in preference["prompt"]
    messages = _load(out, "trl_sft")[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[0]["content"] == "What is 2 + 3?"

    for png in ("q_values.png", "accuracy_vs_budget.png", "pairs_per_problem.png"):
        assert (out / "plots" / png).read_bytes()[:4] == b"\x89PNG" and f"(plots/{png})" in body
    assert "| pairs: ppm | 5 |" in body and "| leaf accuracy | 6/15 = 40.0% |" in body
    assert "int()" in body and '"min_margin": 0.5' in body and "`pos_count`" in body


def test_threshold_binarises_stepwise_labels_and_kinds_filter_pairs(labelled, tmp_path):
    out = tmp_path / "dataset"
    export(["--shards", str(labelled), "--output", str(out), "--prm-threshold", "0.5",
            "--preference-kinds", "solution", "--no-plots"])
    labels = {x for row in pq.read_table(out / "data" / "trl_stepwise")["labels"].to_pylist() for x in row}
    assert labels == {0.0, 1.0}
    assert pq.read_table(out / "data" / "trl_preference").num_rows == 6  # p1 4 + p2 2 solution pairs
    assert not (out / "plots").exists()


class FakeHfApi:
    calls: list = []

    def __init__(self, token=None):
        self.calls.append(("init", token))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))


def test_push_to_hub_uploads_through_hfapi_without_printing_the_token(labelled, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export_module, "HfApi", FakeHfApi)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    FakeHfApi.calls = []
    out = tmp_path / "dataset"
    result = export(["--shards", str(labelled), "--output", str(out), "--push-to-hub", "me/trees", "--private", "--no-plots"])
    assert FakeHfApi.calls[0] == ("init", "hf_secret_token_123")
    assert FakeHfApi.calls[1] == ("create_repo", "me/trees", {"repo_type": "dataset", "private": True, "exist_ok": True})
    upload = FakeHfApi.calls[2][1]
    assert (upload["folder_path"], upload["repo_id"], upload["repo_type"]) == (str(out), "me/trees", "dataset")
    assert result["pushed"] == "https://huggingface.co/datasets/me/trees"
    assert 'load_dataset("me/trees", "pairs", split="train")' in (out / "README.md").read_text()
    captured = capsys.readouterr()
    assert "hf_secret_token_123" not in captured.out + captured.err


@pytest.mark.parametrize("argv, message", [
    (["--output", "o"], "--shards and --output are required"),
    (["--shards", "/nonexistent", "--output", "o"], "no nodes shards"),
    (["--preference-kinds", "ppm,nope"], "--preference-kinds takes"),
    (["--push-to-hub", "me/x"], "HF_TOKEN"),
    (["--prm-threshold", "high"], "invalid float value"),
])
def test_bad_arguments_give_one_clear_line(labelled, tmp_path, monkeypatch, argv, message, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    base = [] if "--output" in argv else ["--shards", str(labelled), "--output", str(tmp_path / "o")]
    assert_one_error_line(export, base + argv, message, capsys)


def test_export_needs_a_label_run(tmp_path, capsys):
    write_hand_trees(tmp_path, broken=False)
    with pytest.raises(SystemExit):
        export(["--shards", str(tmp_path), "--output", str(tmp_path / "o")])
    assert "run python -m pipelines.label first" in capsys.readouterr().err


def test_generate_label_export_end_to_end(tmp_path, tiny_policy, tiny_policy_spec, gsm8k_rows):
    (tmp_path / "problems.jsonl").write_text("".join(json.dumps(r) + "\n" for r in gsm8k_rows[:4]))
    out = tmp_path / "run"
    spec = tiny_policy_spec
    generated = generate(["--input", str(tmp_path / "problems.jsonl"), "--output", str(out), "--model", spec.model,
                          "--max-model-len", str(spec.max_model_len), "--kv-cache-gb", str(spec.kv_cache_gb),
                          "--num-shards", "2", "--batch-size", "4", "--search-param", "n=3",
                          "--search-param", "max_tokens=24", "--no-progress"])
    assert generated["counts"]["searched"] == 4
    # The tiny model's answers are gibberish: a stored hand tree beside them gives the pairs.
    write_hand_trees(out, broken=False)

    labelled = label(["--shards", str(out), "--combine-runs"])["counts"]
    assert labelled["trees_read"] == 6 == labelled["trees_labelled"] + labelled["dead_letters_label"]
    assert labelled["steps"] == generated["counts"]["nodes"] - 4 + 26  # every node but the roots
    result = export(["--shards", str(out), "--output", str(tmp_path / "dataset"), "--combine-runs"])

    dataset = tmp_path / "dataset"
    header, body = _card(dataset)
    for entry in header["configs"]:
        assert len(_load(dataset, entry["config_name"])) == result["rows"][entry["config_name"]] > 0
    assert {"trees", "steps", "pairs", "trl_stepwise", "trl_preference"} <= {c["config_name"] for c in header["configs"]}
    trees = _load(dataset, "trees")
    assert len(set(trees["problem_id"])) == 6 and len(trees) == generated["counts"]["nodes"] + 28
    stepwise = pq.read_table(dataset / "data" / "trl_stepwise")
    assert stepwise.column_names == ["prompt", "completions", "labels"]
    # every labelled trace: 3 samples x 4 problems + the 13 labelled hand traces (A1's code failed)
    assert stepwise.num_rows == 3 * 4 + 13
    assert "best-of-n (params: n=3, max_tokens=24" in body and spec.model in body
