"""A tiny random-weight Llama with a locally trained tokenizer, for fast engine tests and benches.

Built in a few seconds with no network: a byte-level BPE tokenizer (vocab 512) trained on generated
arithmetic text, and a 4-layer Llama (hidden 256, 4 heads / 2 KV heads, ~2.5M parameters) with
seeded random weights, saved in bf16. vLLM loads it unchanged; its output is gibberish, which is
what engine plumbing tests need (real tokens, real logprobs, real stop handling).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _corpus(rng: random.Random, lines: int = 3000) -> list[str]:
    """Arithmetic word-problem-like text: the tokenizer learns digits, operators and step words."""
    words = ["Step", "The", "answer", "is", "so", "total", "each", "apples", "costs", "left", "boxed"]
    out = []
    for _ in range(lines):
        a, b = rng.randint(0, 999), rng.randint(1, 99)
        op = rng.choice("+-*/")
        out.append(f"{rng.choice(words)} {a} {op} {b} = {eval(f'{a}{op}{b}'):.0f}. \\boxed{{{a}}} #### {b}")  # noqa: S307 - our own numbers
    return out


def build_tokenizer(out_dir: Path, seed: int = 0):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_corpus(random.Random(seed)), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Write the tiny model folder to ``out_dir`` (skipped if already built) and return its path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=256, intermediate_size=512, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").write_text(json.dumps({"eos_token_id": tokenizer.eos_token_id}))
    return out
