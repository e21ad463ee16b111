"""The project imports and explains itself when vLLM is not installed."""

import subprocess
import sys

import pytest

from transforms.policy import PolicySpec, build_policy


def test_importing_the_project_does_not_import_vllm():
    code = ("import sys, transforms, transforms.search, transforms.io.ingest, transforms.policy, pipelines.generate, "
            "queries, schemas; assert 'vllm' not in sys.modules and 'torch' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_vllm_gives_an_actionable_error(tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(RuntimeError, match=r"pip install -e \.\[cpu\]"):
        build_policy(PolicySpec(model=tiny_model_dir, seed=99))
