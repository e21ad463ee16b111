"""PRM: a step-level process reward model trained on the ``steps`` labels (Math-Shepherd hard or
soft estimates, ReST-MCTS* quality values): BCE with soft targets, or MSE, on the score at each
step's end.

The model is a sequence classifier with one label; training reads its head at every step end of a
trace in one pass (``trainers.common.steps``). TRL's PRMTrainer would cast the float labels to int,
so this is a small Trainer subclass that keeps them. The folder declares ``treemill_scorer =
{kind: prm, activation: sigmoid, template: plain}``: a scorer returns P(step leads to a correct
answer) for a partial solution (the score at its last step); ``--scorer-param aggregation=min`` or
``product`` scores a whole solution from all its steps.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TrainingArguments

from trainers.common import hf
from trainers.common.card import CardFacts, write_card
from trainers.common.data import Provenance
from trainers.common.metrics import mse, roc_auc, threshold_accuracy
from trainers.common.scorer_folder import declare_scorer
from trainers.common.stepwise import StepCollator, StepTargetTrainer, last_hidden, step_datasets, unwrap
from trainers.prm.config import PRMConfig
from trainers.prm.inputs import TEMPLATE, prm_sequences
from trainers.prm.loss import prm_loss


class PRMTrainer(StepTargetTrainer):
    def __init__(self, *args, loss_kind: str = "bce", **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_kind = loss_kind

    def forward(self, model, inputs):
        hidden = last_hidden(model, inputs["input_ids"], inputs["attention_mask"])
        return unwrap(model).score(hidden).squeeze(-1), {}

    def step_loss(self, head, targets, aux):
        return prm_loss(head, targets, self.loss_kind), {}

    def to_prediction(self, head):
        return torch.sigmoid(head.float())

    def step_metrics(self, predictions, targets):
        return {"step_auc": roc_auc(predictions, [t >= 0.5 for t in targets]),
                "step_accuracy": threshold_accuracy(predictions, targets), "step_mse": mse(predictions, targets)}


def train(config: PRMConfig) -> Path:
    """Train the PRM and write its sequence-classification folder; returns it."""
    out = Path(config.output)
    resume, base, tokenizer = hf.prepare(config)

    def sequences(trace):
        marked, dropped = prm_sequences(trace, lambda text: tokenizer(text)["input_ids"], config.max_length)
        return [{"input_ids": list(m.input_ids), "targets": list(m.targets)} for m in marked], dropped

    provenance = Provenance(config.data)
    train_set, val_set, counts = step_datasets(config, config.target, sequences, provenance)
    model = hf.sequence_classifier(base, tokenizer, config)
    kwargs = hf.training_kwargs(config, validation=val_set is not None)
    trainer = PRMTrainer(loss_kind=config.loss, model=model, args=TrainingArguments(**kwargs), train_dataset=train_set,
                         eval_dataset=val_set, data_collator=StepCollator(tokenizer.pad_token_id),
                         processing_class=tokenizer)
    hf.run(trainer, resume, val_set is not None)
    final = hf.merged(trainer.model)
    declare_scorer(final, "prm", activation="sigmoid", template=TEMPLATE, target=config.target, loss=config.loss)
    hf.save_folder(final, tokenizer, out, hf.saved_dtype(base))
    write_card(CardFacts("prm", "treemill process reward model (step-level)", config.model, base, config.as_dict(),
                         provenance, counts, hf.eval_history(trainer.state.log_history),
                         ("eval_step_auc / eval_step_accuracy: held-out steps, positive = target >= 0.5; "
                          "predictions are sigmoid(head) at each step's last token.",)), out)
    return out
