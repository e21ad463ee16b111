"""Splitting a sampled solution into steps, and attributing tokens and log-probabilities to them.

Convention (AlphaMath/search-and-learn): steps are separated by a blank line. A sample's tokens are
assigned to the step in which each token starts, so per-step token counts add up to the sample's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.protocols import Sample

STEP_SEPARATOR = "\n\n"
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class StepPiece:
    text: str
    num_tokens: int | None
    logprob: float | None


def split_steps(text: str) -> list[str]:
    """Steps of ``text``: chunks between blank lines, stripped, empty chunks dropped."""
    return [chunk.strip() for chunk in _BLANK_LINE.split(text) if chunk.strip()]


def _step_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the non-empty steps, in order."""
    spans, start = [], 0
    for match in list(_BLANK_LINE.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end() if match else end
    return spans


def split_sample(sample: Sample) -> list[StepPiece]:
    """Split a sample into steps with per-step token counts and logprob sums when available."""
    spans = _step_spans(sample.text)
    texts = [sample.text[a:b].strip() for a, b in spans]
    if not spans:
        return []
    if sample.token_texts is None:
        # No token detail: only a single-step sample can be attributed exactly.
        if len(spans) == 1:
            return [StepPiece(texts[0], sample.num_tokens, sample.cumulative_logprob)]
        return [StepPiece(t, None, None) for t in texts]
    counts = [0] * len(spans)
    logprobs = [0.0] * len(spans)
    offset, step = 0, 0
    token_logprobs = sample.token_logprobs or (0.0,) * len(sample.token_texts)
    for token, logprob in zip(sample.token_texts, token_logprobs):
        # Separator tokens belong to the step before them; move on once a token starts past its end.
        while step + 1 < len(spans) and offset >= spans[step + 1][0]:
            step += 1
        counts[step] += 1
        logprobs[step] += logprob
        offset += len(token)
    return [StepPiece(t, c, lp) for t, c, lp in zip(texts, counts, logprobs)]
