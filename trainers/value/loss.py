"""AlphaMath's joint policy + value loss."""

from __future__ import annotations

import torch
from torch.nn import functional as F

IGNORE = -100


def value_loss(values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE(tanh(v), Q-hat) over the step ends (targets not NaN); Super_MARIO's ValueHead ends in tanh."""
    mask = ~torch.isnan(targets)
    return F.mse_loss(torch.tanh(values[mask].float()), targets[mask].float())


def policy_loss(lm_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-log pi(x+): mean next-token cross-entropy over labelled tokens (0 when a batch has none,
    i.e. only incorrect traces)."""
    shift_logits, shift_labels = lm_logits[:, :-1].float(), labels[:, 1:]
    if not (shift_labels != IGNORE).any():
        return shift_logits.sum() * 0.0
    return F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                           ignore_index=IGNORE)


def alphamath_loss(lm_logits, labels, values, targets, beta: float) -> tuple[torch.Tensor, dict]:
    """L = -log pi(x+) + beta * ||V(s_t) - Q-hat(s_t)||^2 (AlphaMath, arXiv 2405.03553, Sec. 3 training objective)."""
    lm, value = policy_loss(lm_logits, labels), value_loss(values, targets)
    return lm + beta * value, {"lm_loss": lm.item(), "value_loss": value.item()}
