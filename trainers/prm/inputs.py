"""``steps`` rows -> PRM sequences: each step's target on the token where the step ends (pure)."""

from __future__ import annotations

from transforms.protocols import ScoreRequest
from transforms.scorer import score_text
from trainers.common.steps import Marked, Trace, mark_prefixes

TEMPLATE = "plain"  # what the PRM folder declares


def prefix_texts(trace: Trace, template: str = TEMPLATE, tokenizer=None) -> list[str]:
    """The text the scorer reads for each partial solution of the trace (steps 1..k)."""
    return [score_text(ScoreRequest(trace.question, trace.steps[:k]), template, tokenizer)
            for k in range(1, len(trace.steps) + 1)]


def prm_sequences(trace: Trace, encode, max_length: int) -> tuple[list[Marked], int]:
    """Token sequences with each labelled step's target at its last token; also the labelled steps
    left out for length."""
    return mark_prefixes(encode, prefix_texts(trace), trace.targets, max_length)
