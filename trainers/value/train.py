"""Value: AlphaMath's policy and value model, one backbone with the LM head and a scalar value head,
trained jointly with -log pi(x+) on correct solutions plus beta * MSE(V(s_t), Q-hat(s_t)) on every
step's value target (AlphaMath, arXiv 2405.03553, Sec. 3 training objective; Super_MARIO's implementation details).

The value head reads the policy's own context (the chat generation prompt followed by the steps),
at the last token of each step. Departures from Super_MARIO's ValueHead: no bias and no dropout, so
the head is exactly a sequence-classification ``score`` layer. Output:

    OUT/          the value model as a sequence-classification folder (scorer): treemill_scorer =
                  {kind: value, activation: tanh, template: prompt}, scores V in [-1, 1]
    OUT/policy/   the policy as a plain causal-LM folder (vLLM policy)
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, TrainingArguments

from trainers.common import hf
from trainers.common.card import CardFacts, write_card
from trainers.common.data import Provenance
from trainers.common.metrics import mse, sign_accuracy
from trainers.common.scorer_folder import declare_scorer
from trainers.common.stepwise import StepCollator, StepTargetTrainer, last_hidden, step_datasets, unwrap
from trainers.value.config import ValueConfig
from trainers.value.inputs import TEMPLATE, value_sequences
from trainers.value.loss import alphamath_loss

POLICY = "policy"


class ValueTrainer(StepTargetTrainer):
    def __init__(self, *args, beta: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta

    def forward(self, model, inputs):
        inner = unwrap(model)
        hidden = last_hidden(model, inputs["input_ids"], inputs["attention_mask"])
        return inner.v_head(hidden).squeeze(-1), {"lm_logits": inner.lm_head(hidden), "labels": inputs["labels"]}

    def step_loss(self, head, targets, aux):
        return alphamath_loss(aux["lm_logits"], aux["labels"], head, targets, self.beta)

    def to_prediction(self, head):
        return torch.tanh(head.float())

    def step_metrics(self, predictions, targets):
        return {"value_mse": mse(predictions, targets), "value_sign_accuracy": sign_accuracy(predictions, targets)}


def add_value_head(model) -> None:
    """A bias-free linear value head on the last hidden state (kept in checkpoints with the LM)."""
    model.v_head = torch.nn.Linear(model.config.hidden_size, 1, bias=False)
    torch.nn.init.normal_(model.v_head.weight, std=model.config.initializer_range)


def save_outputs(model, tokenizer, out: Path, dtype, config: ValueConfig) -> None:
    """OUT/policy: the causal LM without the head; OUT: a sequence classifier whose score is the head."""
    head = model.v_head.weight.detach().clone()
    del model.v_head
    hf.save_folder(model, tokenizer, out / POLICY, dtype)
    scorer = AutoModelForSequenceClassification.from_pretrained(out / POLICY, num_labels=1, dtype=head.dtype)
    with torch.no_grad():
        scorer.score.weight.copy_(head)
    scorer.config.pad_token_id = tokenizer.pad_token_id
    declare_scorer(scorer, "value", activation="tanh", template=TEMPLATE, target=config.target)
    hf.save_folder(scorer, tokenizer, out, dtype)


def train(config: ValueConfig) -> Path:
    """Train policy + value jointly; write OUT (value scorer) and OUT/policy; returns OUT."""
    out = Path(config.output)
    resume, base, tokenizer = hf.prepare(config)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{config.model} has no chat template: the value model reads the policy's chat prompt")

    def sequences(trace):
        return value_sequences(trace, tokenizer, config.max_length)

    provenance = Provenance(config.data)
    train_set, val_set, counts = step_datasets(config, config.target, sequences, provenance)
    model = AutoModelForCausalLM.from_pretrained(base, dtype="float32")
    torch.manual_seed(config.seed)  # the new head's initialisation
    add_value_head(model)
    model = hf.with_lora(model, config, "CAUSAL_LM", extra_trainable=("v_head",))
    kwargs = hf.training_kwargs(config, validation=val_set is not None)
    trainer = ValueTrainer(beta=config.value_weight, model=model, args=TrainingArguments(**kwargs),
                           train_dataset=train_set, eval_dataset=val_set,
                           data_collator=StepCollator(tokenizer.pad_token_id), processing_class=tokenizer)
    hf.run(trainer, resume, val_set is not None)
    save_outputs(hf.merged(trainer.model), tokenizer, out, hf.saved_dtype(base), config)
    write_card(CardFacts("value", "treemill AlphaMath policy + value model", config.model, base, config.as_dict(),
                         provenance, counts, hf.eval_history(trainer.state.log_history),
                         ("This folder is the value model (scorer, V = tanh(head) in [-1, 1]); the policy is in "
                          f"{POLICY}/.", "eval_value_mse / eval_value_sign_accuracy: held-out steps, "
                          "sign accuracy leaves out targets of 0.")), out)
    return out
