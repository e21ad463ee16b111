"""What .ci/setup installed: on a machine without a GPU, PyTorch's CPU build and none of the CUDA
wheels (nvidia-*, triton) that PyPI's default torch drags in; the viewer's browser is the system
chromium, driven by playwright, with no downloaded browser."""

from __future__ import annotations

import shutil
import subprocess
from importlib.metadata import distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _has_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def test_without_a_gpu_torch_is_the_cpu_build_and_no_cuda_wheels_are_installed():
    import torch

    if _has_gpu():
        pytest.fail("this test describes the CPU set-up; on a GPU machine .ci/setup installs the CUDA build")
    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
    names = sorted(d.metadata["Name"].lower() for d in distributions())
    assert [n for n in names if n.startswith("nvidia-") or n == "triton"] == []


def test_setup_script_names_what_it_installs_and_from_where():
    text = (REPO / ".ci" / "setup").read_text()
    assert "download.pytorch.org/whl/cpu" in text and "apt-get install" in text
    assert "bubblewrap" in text and "chromium" in text and "playwright install" not in text  # no downloaded browser
    done = subprocess.run(["bash", "-n", str(REPO / ".ci" / "setup")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
