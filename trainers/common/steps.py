"""Label rows -> step sequences: traces from the ``steps`` table, and the token where each step ends.

PRM and value targets sit on the last token of each step (Super_MARIO's implementation details:
"any position that is not the end of a step is marked with IGNORE_INDEX"). A scorer later scores a
partial solution by the head output on its *last* token, so a training position must be the last
token of exactly the text the scorer will read. We therefore tokenize each prefix text as the scorer
would and keep the longest chain in which every prefix's tokens are a prefix of the next one's: one
forward pass then trains every step of the chain, and the score it learns at position i is the
score of the prefix ending there (causal attention). Where a tokenizer merges across a step
boundary, the chain is cut and the next prefix starts a new sequence, so no position is ever
trained on a tokenization the scorer would not see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from transforms.protocols import ScoreRequest
from transforms.scorer import score_text


@dataclass(frozen=True)
class Trace:
    """One root-to-terminal path of a stored tree: its steps, each step's target (None = unlabelled),
    and the terminal's verdict."""

    problem_id: str
    question: str
    leaf_path: str
    steps: tuple[str, ...]
    targets: tuple[float | None, ...]
    correct: bool | None


def ancestor_paths(path: str) -> list[str]:
    """'0.2.1' -> ['0', '0.2', '0.2.1'] (the steps from the root to this one)."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def traces(step_rows: Iterable[dict], questions: dict[str, str], target: str) -> tuple[list[Trace], int]:
    """One Trace per terminal step, targets from column ``target``; also the number of terminal
    steps left out because a step on their path, or their problem's question, is missing."""
    rows = list(step_rows)
    by_key = {(r["label_run_id"], r["problem_id"], r["path"]): r for r in rows}
    out, missing = [], 0
    for leaf in rows:
        if not leaf["is_terminal"]:
            continue
        path_rows = [by_key.get((leaf["label_run_id"], leaf["problem_id"], p)) for p in ancestor_paths(leaf["path"])]
        if any(r is None for r in path_rows) or leaf["problem_id"] not in questions:
            missing += 1
            continue
        out.append(Trace(leaf["problem_id"], questions[leaf["problem_id"]], leaf["path"], tuple(r["step_text"] for r in path_rows),
                         tuple(_float(r[target]) for r in path_rows), leaf["verdict"]))
    out.sort(key=lambda t: (t.problem_id, t.leaf_path))
    return out, missing


def _float(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


@dataclass(frozen=True)
class Marked:
    """A token sequence with a float target on some positions (NaN elsewhere)."""

    input_ids: tuple[int, ...]
    targets: tuple[float, ...]

    @property
    def positions(self) -> list[int]:
        return [i for i, t in enumerate(self.targets) if not math.isnan(t)]


def mark_prefixes(encode, texts: Sequence[str], targets: Sequence[float | None], max_length: int,
                  tail: str | None = None) -> tuple[list[Marked], int]:
    """Token sequences that put ``targets[k]`` on the last token of ``encode(texts[k])``.

    ``texts`` are growing prefixes (each a string prefix of the next); ``encode`` maps a text to
    token ids exactly as the scorer tokenizes it. ``tail`` (optional) is a last, unmarked text the
    chain should end with (the value trainer's end-of-turn). Returns the sequences and how many
    labelled prefixes were dropped for exceeding ``max_length`` tokens.
    """
    out: list[Marked] = []
    ids: list[int] = []
    marks: dict[int, float] = {}
    dropped = 0

    def flush():
        if marks:
            out.append(Marked(tuple(ids), tuple(marks.get(i, math.nan) for i in range(len(ids)))))

    items = list(zip(texts, targets)) + ([(tail, None)] if tail is not None else [])
    for k, (text, target) in enumerate(items):
        new = list(encode(text))
        if len(new) > max_length:  # later prefixes are longer still
            dropped = sum(1 for _, t in items[k:] if t is not None)
            break
        if new[:len(ids)] != ids:  # the tokenizer merged across the boundary: start a new sequence
            flush()
            marks = {}
        ids = new
        if target is not None:
            marks[len(ids) - 1] = float(target)
    flush()
    return out, dropped


def prefix_texts(trace: Trace, template: str, tokenizer=None) -> list[str]:
    """The text the scorer reads (``score_text`` with ``template``) for each partial solution of
    the trace: steps 1..k for k = 1..len(steps)."""
    return [score_text(ScoreRequest(trace.question, trace.steps[:k]), template, tokenizer)
            for k in range(1, len(trace.steps) + 1)]
