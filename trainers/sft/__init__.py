"""SFT policy trainer: ``python -m trainers.sft`` or ``trainers.sft.train(SFTConfig(...))``."""

from trainers.sft.config import SFTConfig
from trainers.sft.train import train

__all__ = ["SFTConfig", "train"]
