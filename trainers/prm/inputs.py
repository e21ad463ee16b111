"""``steps`` rows -> PRM sequences: each step's target on the token where the step ends (pure)."""

from __future__ import annotations

from trainers.common.steps import Marked, Trace, mark_prefixes, prefix_texts

TEMPLATE = "plain"  # what the PRM folder declares


def prm_sequences(trace: Trace, encode, max_length: int) -> tuple[list[Marked], int]:
    """Token sequences with each labelled step's target at its last token; also the labelled steps
    left out for length."""
    return mark_prefixes(encode, prefix_texts(trace, TEMPLATE), trace.targets, max_length)
