"""PPM: rStar-Math's process preference model, a scalar head on the policy's backbone trained on
step pairs that share a prefix (a reward model: sequence classification with one label).

The pairwise loss is rStar-Math Eq. 4 with its per-step pair weighting (``loss.ppm_loss``), run by
TRL's RewardTrainer (``PPMTrainer`` only adds the weights and an exact held-out pairwise accuracy).
Texts are tokenized here exactly as the scorer backends tokenize them (``score_text``, plain
template, no EOS appended), so the head is trained on the very tokens it scores at inference.

The folder's config declares ``treemill_scorer = {kind: ppm, activation: none, template: plain}``:
scorers return the raw reward r, and ``mcts-rstar`` applies tanh to it (its default ``ppm_squash``),
the paper's inference-time tanh. ``generate --scorer-model OUT`` needs nothing else.
"""

from __future__ import annotations

from pathlib import Path

import torch
from trl import RewardConfig, RewardTrainer
from trl.trainer.reward_trainer import DataCollatorForPreference

from trainers.common import hf
from trainers.common.card import CardFacts, write_card
from trainers.common.data import Provenance, load_table, split_problems
from trainers.common.scorer_folder import declare_scorer
from trainers.ppm.config import PPMConfig
from trainers.ppm.inputs import TEMPLATE, ppm_example
from trainers.ppm.loss import pairwise_correct, ppm_loss


class WeightedPreferenceCollator(DataCollatorForPreference):
    """TRL's preference collator plus each pair's loss weight."""

    def torch_call(self, examples):
        batch = super().torch_call(examples)
        batch["weight"] = torch.tensor([e["weight"] for e in examples], dtype=torch.float)
        return batch


class PPMTrainer(RewardTrainer):
    """RewardTrainer with rStar's pair weights and an exact held-out pairwise accuracy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pairs = [0, 0]  # (correct, total) over the current evaluation

    def _set_signature_columns_if_needed(self):
        if self._signature_columns is None:
            self._signature_columns = ["chosen_ids", "rejected_ids", "weight"]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weight = inputs.pop("weight")
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
        chosen, rejected = torch.chunk(outputs.logits.squeeze(-1), chunks=2)
        loss = ppm_loss(chosen, rejected, weight.to(chosen.device))
        if self.args.center_rewards_coefficient:
            loss = loss + self.args.center_rewards_coefficient * torch.mean((chosen + rejected) ** 2)
        if model.training:  # RewardTrainer.log averages these per logging window (batch means)
            self._metrics["train"]["accuracy"].append(pairwise_correct(chosen, rejected) / chosen.numel())
            self._metrics["train"]["margin"].append((chosen - rejected).mean().item())
        else:  # validation: exact counts over all held-out pairs, not a mean of batch means
            self._pairs[0] += pairwise_correct(chosen, rejected)
            self._pairs[1] += chosen.numel()
        return (loss, outputs) if return_outputs else loss

    def log(self, logs, start_time=None):
        if self._pairs[1] and any(k.startswith("eval_") for k in logs):
            logs["eval_pairwise_accuracy"] = self._pairs[0] / self._pairs[1]
            logs["eval_pairs"] = self._pairs[1]
            self._pairs = [0, 0]
        return super().log(logs, start_time)


def build_datasets(config: PPMConfig, tokenizer, provenance: Provenance):
    table = load_table(config.data, "pairs", Path(config.output) / ".cache", config.run_ids, provenance)
    kinds = set(config.kinds)
    rows = table.rows.filter(lambda r: r["kind"] in kinds)
    if not len(rows):
        raise ValueError(f"no pairs of kind {', '.join(config.kinds)} in {config.data}")
    train_ids, val_ids = split_problems(rows["problem_id"], config.val_fraction, config.seed)

    def encode(row):
        example = ppm_example(row, config.pair_weighting)
        return {"problem_id": example["problem_id"], "weight": example["weight"],
                "chosen_ids": tokenizer(example["chosen"])["input_ids"],
                "rejected_ids": tokenizer(example["rejected"])["input_ids"]}

    encoded = rows.map(encode, remove_columns=rows.column_names)
    fits = encoded.filter(lambda r: max(len(r["chosen_ids"]), len(r["rejected_ids"])) <= config.max_length)
    train = fits.filter(lambda r: r["problem_id"] in train_ids).remove_columns("problem_id")
    val = fits.filter(lambda r: r["problem_id"] in val_ids).remove_columns("problem_id")
    counts = {"pairs": len(rows), f"pairs over {config.max_length} tokens (left out)": len(encoded) - len(fits),
              "train pairs": len(train), "validation pairs": len(val),
              "train problems": len(train_ids), "validation problems": len(val_ids)}
    return train, (val if len(val) else None), counts


def train(config: PPMConfig) -> Path:
    """Train the PPM and write its sequence-classification folder; returns it."""
    out = Path(config.output)
    resume, base, tokenizer = hf.prepare(config)
    provenance = Provenance(config.data)
    train_set, val_set, counts = build_datasets(config, tokenizer, provenance)
    model = hf.sequence_classifier(base, tokenizer, config)
    kwargs = hf.training_kwargs(config, validation=val_set is not None)
    args = RewardConfig(**kwargs, max_length=None, center_rewards_coefficient=config.center_rewards or None,
                        dataset_num_proc=None)
    trainer = PPMTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=val_set,
                         processing_class=tokenizer,
                         data_collator=WeightedPreferenceCollator(pad_token_id=tokenizer.pad_token_id))
    hf.run(trainer, resume, val_set is not None)
    final = hf.merged(trainer.model)
    declare_scorer(final, "ppm", activation="none", template=TEMPLATE)
    hf.save_folder(final, tokenizer, out, hf.saved_dtype(base))
    validation = hf.eval_history(trainer.state.log_history)
    write_card(CardFacts("ppm", "treemill process preference model (rStar-Math PPM)", config.model, base,
                         config.as_dict(), provenance, counts, validation,
                         ("Scores are the raw reward r(x, y); mcts-rstar applies tanh (ppm_squash=tanh), as rStar-Math "
                          "does at inference.", "eval_pairwise_accuracy: share of held-out pairs with r(chosen) > "
                          "r(rejected); 0.5 is chance.")), out)
    return out
