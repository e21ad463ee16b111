"""PRM losses on the head output at each step's end."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def prm_loss(logits: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean over labelled steps (targets not NaN) of

    bce: -[y log sigma(z) + (1 - y) log(1 - sigma(z))], y in [0, 1] soft (Math-Shepherd, arXiv
         2312.08935, Eq. 5, with the soft estimate of Eq. 4 allowed as target);
    mse: (sigma(z) - y)^2 (ReST-MCTS*, arXiv 2406.03816: the value model regresses v_k).
    """
    mask = ~torch.isnan(targets)
    z, y = logits[mask].float(), targets[mask].float()
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(z, y)
    return F.mse_loss(torch.sigmoid(z), y)
