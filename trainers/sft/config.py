"""SFTConfig: policy fine-tuning settings (shared ones in TrainerConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from trainers.common.config import TrainerConfig


@dataclass(frozen=True)
class SFTConfig(TrainerConfig):
    """max_rank: keep traces of rank <= this per problem (the ``sft`` table holds the top-k correct
    traces by mean Q; rStar-Math trains on the top 2); 0 keeps all. system_prompt: the system turn
    the policy will be prompted with (``generate --system-prompt``), none by default."""

    learning_rate: float = 2e-5
    max_rank: int = 0
    system_prompt: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_rank < 0:
            raise ValueError(f"max_rank must be >= 0, got {self.max_rank}")
