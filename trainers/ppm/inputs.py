"""``pairs`` rows -> the texts a PPM scores and each pair's loss weight (pure)."""

from __future__ import annotations

from transforms.protocols import ScoreRequest
from transforms.scorer import score_text

TEMPLATE = "plain"  # what the PPM folder declares: the scorer reads question + blank line + steps


def pair_weight(row: dict, weighting: str = "rstar") -> float:
    """rStar-Math Eq. 4 averages the 2 x 2 pairs of a step: each ppm pair weighs 1/(pos_count *
    neg_count), so every branch node counts once however many pairs it gave. Other kinds weigh 1."""
    if weighting == "none" or row["kind"] != "ppm" or not row.get("pos_count") or not row.get("neg_count"):
        return 1.0
    return 1.0 / (row["pos_count"] * row["neg_count"])


def pair_texts(row: dict) -> tuple[str, str]:
    """(chosen text, rejected text): the question, the shared prefix steps, then the chosen or the
    rejected step, exactly as the scorer renders a partial solution (``score_text``, plain)."""
    prefix = tuple(row["prefix"])
    return (score_text(ScoreRequest(row["question"], prefix + (row["chosen"],)), TEMPLATE),
            score_text(ScoreRequest(row["question"], prefix + (row["rejected"],)), TEMPLATE))


def ppm_example(row: dict, weighting: str = "rstar") -> dict:
    chosen, rejected = pair_texts(row)
    return {"problem_id": row["problem_id"], "chosen": chosen, "rejected": rejected,
            "weight": pair_weight(row, weighting)}
