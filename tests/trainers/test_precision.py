"""Which precision a trainer runs in: bf16 autocast where the hardware has native bf16, fp32 elsewhere."""

import pytest
import torch

from trainers.common import hf
from trainers.common.config import TrainerConfig


def _cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    return str(path)


@pytest.mark.parametrize(("flags", "native"), [
    ("fpu sse2 avx2 avx512f avx512_bf16", True),
    ("fpu sse2 avx2 amx_tile amx_bf16", True),
    ("fpu sse2 avx2 avx512f avx512bw", False),   # AVX-512 without its bf16 extension: emulated, slower
    ("", False),
])
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, flags, native):
    assert hf.cpu_has_native_bf16(_cpuinfo(tmp_path, flags)) is native


def test_no_cpuinfo_means_fp32(tmp_path):
    assert hf.cpu_has_native_bf16(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_hardware_and_fp32_always_wins(monkeypatch, native):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hf, "cpu_has_native_bf16", lambda: native)
    config = TrainerConfig(data="d", output="o")
    assert hf.use_bf16(config) is native
    kwargs = hf.training_kwargs(config)
    assert kwargs["bf16"] is native and kwargs["use_cpu"] is native  # transformers autocasts on CPU only with use_cpu
    assert hf.use_bf16(TrainerConfig(data="d", output="o", precision="fp32")) is False
    if native:
        assert hf.use_bf16(TrainerConfig(data="d", output="o", precision="bf16")) is True
    else:
        with pytest.raises(ValueError, match="precision=bf16 needs native bf16"):
            hf.use_bf16(TrainerConfig(data="d", output="o", precision="bf16"))
