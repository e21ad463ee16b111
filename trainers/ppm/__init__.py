"""Process preference model trainer: ``python -m trainers.ppm`` or ``trainers.ppm.train(PPMConfig(...))``."""

from trainers.ppm.config import PPMConfig
from trainers.ppm.train import train

__all__ = ["PPMConfig", "train"]
