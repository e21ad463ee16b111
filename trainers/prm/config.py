"""PRMConfig: step-level process reward model settings (shared ones in TrainerConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from trainers.common.config import TrainerConfig

TARGETS = ("label", "shepherd_soft", "shepherd_hard", "rest_value")
LOSSES = ("bce", "mse")


@dataclass(frozen=True)
class PRMConfig(TrainerConfig):
    """target: the ``steps`` column each step is trained towards, in [0, 1]: ``label`` (the label
    run's --prm-label choice: soft/hard Math-Shepherd, ReST-MCTS* quality value or (q+1)/2),
    or a column by name; loss: ``bce`` = binary cross-entropy on the logit with soft targets
    allowed (Math-Shepherd), ``mse`` = squared error of sigmoid(logit) (ReST-MCTS* value model)."""

    learning_rate: float = 1e-5
    target: str = "label"
    loss: str = "bce"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
