"""The transformers/TRL plumbing every trainer shares: precision, arguments, LoRA, resume, saving."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import torch

from trainers.common.config import TrainerConfig

log = logging.getLogger(__name__)
CHECKPOINTS = "checkpoints"


def use_bf16(config: TrainerConfig) -> bool:
    """bf16 autocast (fp32 master weights) where the hardware computes bf16 natively: a CUDA GPU with
    bf16, or a CPU with AVX512-BF16 or AMX (measured on this project's 2-core EPYC: an SFT step of
    SmolLM2-135M takes about 0.75x the fp32 time, docs/benchmarks.md); fp32 elsewhere. ``precision`` forces."""
    if config.precision == "fp32":
        return False
    supported = (torch.cuda.is_bf16_supported() if torch.cuda.is_available() else cpu_has_native_bf16())
    if config.precision == "bf16" and not supported:
        raise ValueError("precision=bf16 needs native bf16 (a CUDA GPU with bf16, or a CPU with AVX512-BF16 "
                         "or AMX); use auto or fp32 here")
    return supported


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU has bf16 instructions (Linux ``flags``: avx512_bf16 or amx_bf16); False where
    that cannot be read (other systems), so they train in fp32 as before."""
    try:
        text = Path(cpuinfo).read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


def checkpoint_dir(config: TrainerConfig) -> Path:
    return Path(config.output) / CHECKPOINTS


def last_complete_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint that was fully written, or None.

    The Trainer writes trainer_state.json last, so a checkpoint without it was cut off by a crash
    (transformers' get_last_checkpoint would pick it and fail); such folders are removed.
    """
    found = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])
                   if p.name.rsplit("-", 1)[1].isdigit() else -1, reverse=True)
    for candidate in found:
        if (candidate / "trainer_state.json").is_file():
            return candidate
        log.warning("removing %s: it was not fully written (the run stopped while saving)", candidate)
        shutil.rmtree(candidate, ignore_errors=True)
    return None


def resume_from(config: TrainerConfig) -> str | None:
    """The checkpoint to resume from (``resume``), or None; refuses to silently restart over checkpoints."""
    folder = checkpoint_dir(config)
    last = last_complete_checkpoint(folder) if folder.is_dir() else None
    last = str(last) if last is not None else None
    if config.resume:
        if last is None:
            log.warning("resume: no checkpoint under %s, starting from the beginning", folder)
        return last
    if last is not None:
        raise ValueError(f"{folder} holds checkpoints: pass --resume to continue, or choose another --output")
    return None


def prepare(config: TrainerConfig):
    """(checkpoint to resume from or None, local base model folder, its tokenizer with a pad token)."""
    from transformers import AutoTokenizer

    from transforms.policy.models import resolve_model

    resume = resume_from(config)
    base = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return resume, base, tokenizer


def sequence_classifier(base: str, tokenizer, config: TrainerConfig):
    """The base model with a fresh one-label head (seeded), LoRA-wrapped if asked: PPM and PRM."""
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(config.seed)  # the new head's initialisation
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype="float32")
    model.config.pad_token_id = tokenizer.pad_token_id
    return with_lora(model, config, "SEQ_CLS")


def training_kwargs(config: TrainerConfig, validation: bool = True) -> dict:
    """Arguments for ``transformers.TrainingArguments`` (or a TRL config, its subclass); no
    evaluation when there is no validation set."""
    bf16 = use_bf16(config)
    return dict(
        output_dir=str(checkpoint_dir(config)),
        num_train_epochs=config.epochs, max_steps=config.max_steps, learning_rate=config.learning_rate,
        weight_decay=config.weight_decay, warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, gradient_checkpointing=config.gradient_checkpointing,
        # transformers runs bf16 autocast on the CPU only when told to use the CPU
        bf16=bf16, use_cpu=bf16 and not torch.cuda.is_available(), seed=config.seed, data_seed=config.seed,
        # Validation each epoch (the metrics go in the model card); checkpoints each epoch unless
        # save_steps is set, so a crash loses at most that much work.
        eval_strategy="epoch" if validation else "no", save_strategy="steps" if config.save_steps else "epoch",
        save_steps=config.save_steps or 500, save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps, logging_first_step=True, report_to="none",
        disable_tqdm=not config.progress, remove_unused_columns=False, dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def saved_dtype(model_path: str) -> torch.dtype | None:
    """The dtype the base model was stored in: the trained model is saved in it (training itself
    keeps fp32 master weights; bf16 comes from autocast)."""
    from transformers import AutoConfig

    dtype = getattr(AutoConfig.from_pretrained(model_path), "dtype", None)
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def with_lora(model, config: TrainerConfig, task_type: str, extra_trainable: tuple[str, ...] = ()):
    """Wrap ``model`` with LoRA adapters when ``lora_r`` > 0 (heads in ``extra_trainable`` stay fully trained)."""
    if not config.lora_r:
        return model
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type=task_type,
                      modules_to_save=list(extra_trainable) or None)
    return get_peft_model(model, lora)


def merged(model):
    """The plain transformers model: LoRA adapters merged into the weights (no-op for a full fine-tune)."""
    from peft import PeftModel

    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def save_folder(model, tokenizer, out: Path, dtype: torch.dtype | None = None) -> None:
    """Write an HF model folder (safetensors, tokenizer with its chat template)."""
    out.mkdir(parents=True, exist_ok=True)
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def run(trainer, resume: str | None, has_validation: bool) -> None:
    """Train (from ``resume`` if given), then validate once more if the last step was not
    validated (max_steps ending mid-epoch), so the card always has the final model's metrics."""
    trainer.train(resume_from_checkpoint=resume)
    validated = [e["step"] for e in trainer.state.log_history if any(k.startswith("eval_") for k in e)]
    if has_validation and (not validated or validated[-1] < trainer.state.global_step):
        trainer.evaluate()


_TIMINGS = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")


def eval_history(log_history: list[dict]) -> list[dict]:
    """The validation rows of a Trainer's log history (one per epoch), rounded for the card."""
    rows = []
    for entry in log_history:
        if any(key.startswith("eval_") for key in entry):
            rows.append({k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
                         for k, v in entry.items()
                         if (k.startswith("eval_") and k not in _TIMINGS) or k in ("epoch", "step")})
    return rows

