"""A tiny random-weight Llama sequence classifier, the scorer counterpart of ``transforms.policy.tiny``.

Same tokenizer builder as the tiny policy (byte-level BPE trained on arithmetic text), a 2-layer
``LlamaForSequenceClassification`` with seeded random weights in bf16. Its scores are meaningless
but real: tests and benches exercise both scorer backends on it in seconds, offline.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_scorer(out_dir: str | Path, seed: int = 0, num_labels: int = 1) -> Path:
    """Write the tiny classifier folder to ``out_dir`` (skipped if already built) and return its path."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from transforms.policy.tiny import build_tokenizer

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, num_labels=num_labels,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, architectures=["LlamaForSequenceClassification"],
    )
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    # A random head gives near-zero logits; widen it so scores differ visibly between texts.
    with torch.no_grad():
        model.score.weight.mul_(50.0)
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    return out
