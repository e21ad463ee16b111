"""Step-level PRM trainer: ``python -m trainers.prm`` or ``trainers.prm.train(PRMConfig(...))``."""

from trainers.prm.config import PRMConfig
from trainers.prm.train import train

__all__ = ["PRMConfig", "train"]
