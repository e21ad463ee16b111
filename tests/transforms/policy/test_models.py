import pytest

from transforms.policy.models import model_digest, resolve_model
from transforms.policy.tiny import build_tiny_model


def test_local_folder_is_used_as_is_and_digest_is_stable(tiny_model_dir):
    assert resolve_model(tiny_model_dir) == tiny_model_dir
    assert model_digest(tiny_model_dir) == model_digest(tiny_model_dir) and len(model_digest(tiny_model_dir)) == 64
    assert model_digest("not/a/folder") is None


def test_tiny_model_is_deterministic_for_a_seed(tmp_path, tiny_model_dir):
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert model_digest(str(again)) == model_digest(tiny_model_dir)


def test_default_model_comes_from_the_cache_when_present(tmp_path, monkeypatch):
    cached = tmp_path / "models" / "SmolLM2-135M-Instruct"
    cached.mkdir(parents=True)
    (cached / "config.json").write_text("{}")
    monkeypatch.setenv("TREEMILL_CACHE", str(tmp_path))
    assert resolve_model("default") == str(cached)
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == str(cached)


def test_unknown_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="cannot load model 'someone/missing-model'"):
        resolve_model("someone/missing-model")
