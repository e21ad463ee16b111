"""``steps`` traces -> AlphaMath training sequences: Q at each step's end, LM labels on correct
traces (pure, given a tokenizer)."""

from __future__ import annotations

from transforms.policy.vllm_backend import chat_prompt
from trainers.common.steps import Trace, mark_prefixes, prefix_texts

TEMPLATE = "prompt"  # the policy's own context: chat generation prompt + steps so far
IGNORE = -100


def value_sequences(trace: Trace, tokenizer, max_length: int) -> tuple[list[dict], int]:
    """Examples {input_ids, targets, labels} for one trace; also the labelled steps dropped for length.

    As in Super_MARIO (implementation_details.md): one sequence per trace, Q(s_t) on the last
    token of step t, and the language-model labels on the response tokens only when the trace is
    correct (the -log pi(x+) term); a correct trace ends with the end-of-turn token the policy
    must learn to emit.
    """
    def encode(text):
        return tokenizer(text)["input_ids"]

    texts = prefix_texts(trace, TEMPLATE, tokenizer)
    tail = texts[-1] + tokenizer.eos_token if trace.correct else None
    marked, dropped = mark_prefixes(encode, texts, trace.targets, max_length, tail)
    prompt_len = len(encode(chat_prompt(tokenizer, trace.question)))
    examples = []
    for index, seq in enumerate(marked):
        ids = list(seq.input_ids)
        learn = trace.correct and index == len(marked) - 1  # earlier pieces repeat its tokens
        labels = [IGNORE] * prompt_len + ids[prompt_len:] if learn else [IGNORE] * len(ids)
        examples.append({"input_ids": ids, "targets": list(seq.targets), "labels": labels[:len(ids)]})
    return examples, dropped
