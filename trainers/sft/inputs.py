"""``sft`` rows -> TRL conversational prompt/completion examples (pure)."""

from __future__ import annotations


def sft_example(row: dict, system_prompt: str = "") -> dict:
    """One SFT example: the question as the user turn, the correct trace as the assistant turn.

    Prompt/completion form: TRL's SFTTrainer puts the loss on the completion (assistant) tokens
    only, and renders the prompt with the chat template's generation prompt, which is exactly the
    text the policy is prompted with in ``generate`` (``chat_prompt``).
    """
    prompt = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + \
        [{"role": "user", "content": row["question"]}]
    return {"problem_id": row["problem_id"], "prompt": prompt,
            "completion": [{"role": "assistant", "content": row["solution"]}]}


def keep_row(row: dict, max_rank: int) -> bool:
    return max_rank == 0 or row["rank"] <= max_rank
