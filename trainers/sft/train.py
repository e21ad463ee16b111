"""SFT: fine-tune the policy on the correct traces the search found (rStar-Math: top-2 traces per
problem by mean Q; AlphaMath / ReST-MCTS*: correct solutions) with TRL's SFTTrainer.

The loss covers the assistant turn only (prompt/completion data). ``lora_r`` > 0 trains LoRA
adapters and merges them on save. The output folder is a plain causal LM with tokenizer and chat
template: ``generate --model OUT`` loads it in vLLM as the next round's policy.
"""

from __future__ import annotations

import logging
from pathlib import Path

from trainers.common import hf
from trainers.common.card import CardFacts, write_card
from trainers.common.data import Provenance, load_table, split_problems
from trainers.sft.config import SFTConfig
from trainers.sft.inputs import keep_row, sft_example

log = logging.getLogger(__name__)


def build_datasets(config: SFTConfig, provenance: Provenance):
    table = load_table(config.data, "sft", Path(config.output) / ".cache", config.run_ids, provenance)
    rows = table.rows.filter(lambda r: keep_row(r, config.max_rank))
    if not len(rows):
        raise ValueError(f"no SFT traces in {config.data} (did the search solve any problem?)")
    train_ids, val_ids = split_problems(rows["problem_id"], config.val_fraction, config.seed)
    examples = rows.map(lambda r: sft_example(r, config.system_prompt), remove_columns=rows.column_names)
    train = examples.filter(lambda r: r["problem_id"] in train_ids)
    val = examples.filter(lambda r: r["problem_id"] in val_ids)
    counts = {"traces": len(rows), "train traces": len(train), "validation traces": len(val),
              "train problems": len(train_ids), "validation problems": len(val_ids)}
    return train.remove_columns("problem_id"), (val.remove_columns("problem_id") if len(val) else None), counts


def train(config: SFTConfig) -> Path:
    """Fine-tune and write the policy folder; returns it."""
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig as TRLSFTConfig, SFTTrainer

    out = Path(config.output)
    resume, base, tokenizer = hf.prepare(config)
    provenance = Provenance(config.data)
    train_set, val_set, counts = build_datasets(config, provenance)
    model = AutoModelForCausalLM.from_pretrained(base, dtype="float32")
    model = hf.with_lora(model, config, "CAUSAL_LM")
    kwargs = hf.training_kwargs(config, validation=val_set is not None)
    args = TRLSFTConfig(**kwargs, max_length=config.max_length, completion_only_loss=True, packing=False,
                        dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=val_set,
                         processing_class=tokenizer)
    hf.run(trainer, resume, val_set is not None)
    final = hf.merged(trainer.model)
    hf.save_folder(final, tokenizer, out, hf.saved_dtype(base))
    validation = hf.eval_history(trainer.state.log_history)
    write_card(CardFacts("sft", "treemill SFT policy", config.model, base, config.as_dict(), provenance, counts,
                         validation, ("Loss on the assistant turn only (TRL SFTTrainer, prompt/completion data).",)), out)
    return out
