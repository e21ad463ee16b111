"""rStar-Math's PPM loss and the pairwise accuracy it is judged by."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def ppm_loss(chosen: torch.Tensor, rejected: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted Bradley-Terry loss, rStar-Math (arXiv 2501.04519) Eq. 4::

        L = -1/(2 x 2) * E[ log sigma(r(x, y+) - r(x, y-)) ]

    generalised to pos_count x neg_count pairs per step with weights w = 1/(pos_count*neg_count):
    L = sum_i w_i * -log sigma(r+_i - r-_i) / sum_i w_i, so each step (branch node) in the batch
    counts once. With all w = 1 this is TRL RewardTrainer's loss.
    """
    losses = -F.logsigmoid(chosen.float() - rejected.float())
    return (weight * losses).sum() / weight.sum()


def pairwise_correct(chosen: torch.Tensor, rejected: torch.Tensor) -> int:
    """Pairs the model orders right (a tie counts as wrong)."""
    return int((chosen > rejected).sum().item())
