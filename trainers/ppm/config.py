"""PPMConfig: process preference model settings (shared ones in TrainerConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import PAIR_KINDS
from trainers.common.config import TrainerConfig


@dataclass(frozen=True)
class PPMConfig(TrainerConfig):
    """kinds: pair kinds to train on (``ppm`` = rStar-Math step pairs; ``sibling``/``solution``
    also work, with weight 1); pair_weighting: ``rstar`` weights each ppm pair 1/(pos_count *
    neg_count) (rStar-Math Eq. 4's 1/(2x2)), ``none`` weights all pairs 1; center_rewards: TRL's
    center_rewards_coefficient (0 = off) keeps rewards near 0."""

    learning_rate: float = 1e-5
    kinds: tuple[str, ...] = ("ppm",)
    pair_weighting: str = "rstar"
    center_rewards: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.kinds or set(self.kinds) - set(PAIR_KINDS):
            raise ValueError(f"kinds must be a non-empty subset of {', '.join(PAIR_KINDS)}, got {self.kinds}")
        if self.pair_weighting not in ("rstar", "none"):
            raise ValueError(f"pair_weighting must be rstar or none, got {self.pair_weighting!r}")
