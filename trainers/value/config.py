"""ValueConfig: AlphaMath policy + value model settings (shared ones in TrainerConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from trainers.common.config import TrainerConfig

TARGETS = ("q", "q_terminal", "q_search")


@dataclass(frozen=True)
class ValueConfig(TrainerConfig):
    """value_weight: beta in L = -log pi(x+) + beta * MSE(V(s_t), Q(s_t)) (AlphaMath Sec. 3 training objective; the
    weight_alpha of Super_MARIO's trainer); target: the ``steps`` column V regresses, in [-1, 1]:
    ``q`` (the search's stored Q when it kept one, else Q from terminal rewards), ``q_terminal`` or
    ``q_search``."""

    learning_rate: float = 1e-5
    value_weight: float = 1.0
    target: str = "q"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.value_weight < 0:
            raise ValueError(f"value_weight must be >= 0, got {self.value_weight}")
