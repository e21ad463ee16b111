"""Training on a float target at each step's last token (PRM, value model): collator and Trainer base.

The head reads the backbone's final hidden state at every position (as the sequence-classification
head does at the last one), so the score learned at a step's end is the score the scorer later
reads for the partial solution ending there (see ``trainers.common.steps``).
"""

from __future__ import annotations

import math

import torch
from transformers import Trainer


class StepCollator:
    """Right-pads input_ids (pad id), attention_mask (0), targets (NaN) and labels (-100, if any)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[dict]) -> dict:
        width = max(len(e["input_ids"]) for e in examples)

        def pad(key, value, dtype):
            return torch.tensor([list(e[key]) + [value] * (width - len(e[key])) for e in examples], dtype=dtype)

        batch = {"input_ids": pad("input_ids", self.pad_token_id, torch.long),
                 "attention_mask": torch.tensor([[1] * len(e["input_ids"]) + [0] * (width - len(e["input_ids"]))
                                                 for e in examples]),
                 "targets": pad("targets", math.nan, torch.float)}
        if "labels" in examples[0]:
            batch["labels"] = pad("labels", -100, torch.long)
        return batch


def unwrap(model):
    """The transformers model inside a peft wrapper (LoRA layers stay injected in it)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def last_hidden(model, input_ids, attention_mask) -> torch.Tensor:
    """The backbone's final (normed) hidden states, [batch, tokens, hidden]."""
    inner = unwrap(model)
    backbone = getattr(inner, inner.base_model_prefix)
    return backbone(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state


class StepTargetTrainer(Trainer):
    """A Trainer whose loss is computed by ``step_loss`` on per-position head outputs, and whose
    evaluation collects (prediction, target) at every marked position for ``step_metrics``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._eval_points: tuple[list[float], list[float]] = ([], [])
        self._eval_extra: dict[str, list[float]] = {}

    # Subclasses: the per-position head outputs, the loss, the score a scorer would return, metrics.
    def forward(self, model, inputs) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def step_loss(self, head: torch.Tensor, targets: torch.Tensor, aux: dict) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def to_prediction(self, head: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def step_metrics(self, predictions: list[float], targets: list[float]) -> dict:
        raise NotImplementedError

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        targets = inputs["targets"]
        head, aux = self.forward(model, inputs)
        loss, parts = self.step_loss(head, targets, aux)
        if not model.training:
            mask = ~torch.isnan(targets)
            self._eval_points[0].extend(self.to_prediction(head[mask]).float().tolist())
            self._eval_points[1].extend(targets[mask].tolist())
            for name, value in parts.items():
                self._eval_extra.setdefault(name, []).append(float(value))
        return (loss, {"head": head}) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs, start_time=None):
        if self._eval_points[1] and any(k.startswith("eval_") for k in logs):
            logs.update({f"eval_{k}": v for k, v in self.step_metrics(*self._eval_points).items()})
            logs.update({f"eval_{k}": sum(v) / len(v) for k, v in self._eval_extra.items()})
            logs["eval_steps_scored"] = len(self._eval_points[1])
            self._eval_points, self._eval_extra = ([], []), {}
        return super().log(logs, start_time)


def step_datasets(config, target: str, sequences, provenance):
    """(train, validation or None, counts) of marked sequences from the ``steps`` table.

    ``sequences(trace) -> (list of dict examples, labelled steps dropped for length)`` turns one
    trace into examples; traces are split by problem (no problem in both sets).
    """
    from pathlib import Path

    import datasets

    from trainers.common.data import load_table, questions, split_problems
    from trainers.common.steps import traces

    cache = Path(config.output) / ".cache"
    table = load_table(config.data, "steps", cache, config.run_ids, provenance)
    found, missing = traces(table.rows, questions(config.data, cache, provenance), target)
    if not found:
        raise ValueError(f"no complete traces in the steps of {config.data}")
    train_ids, val_ids = split_problems([t.problem_id for t in found], config.val_fraction, config.seed)
    split = {"train": [], "validation": []}
    dropped = 0
    for trace in found:
        examples, lost = sequences(trace)
        dropped += lost
        split["train" if trace.problem_id in train_ids else "validation"].extend(examples)
    if not split["train"]:
        raise ValueError("no training sequence has a labelled step (all targets null or too long?)")
    counts = {"steps rows": len(table.rows), "traces": len(found),
              "traces left out (a step or the question missing)": missing,
              f"labelled steps left out (over {config.max_length} tokens)": dropped,
              "train sequences": len(split["train"]), "validation sequences": len(split["validation"]),
              "train problems": len(train_ids), "validation problems": len(val_ids)}
    to_dataset = datasets.Dataset.from_list
    return (to_dataset(split["train"]), to_dataset(split["validation"]) if split["validation"] else None, counts)
