"""AlphaMath policy + value trainer: ``python -m trainers.value`` or ``trainers.value.train(ValueConfig(...))``."""

from trainers.value.config import ValueConfig
from trainers.value.train import train

__all__ = ["ValueConfig", "train"]
