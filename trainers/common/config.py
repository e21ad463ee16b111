"""TrainerConfig: the settings every trainer shares (each trainer subclasses it with its own few)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class TrainerConfig:
    """data: a treemill export folder (``data/<config>/``) or a label-run folder (``steps/``, ``pairs/``,
    ``sft/``, ``problems/``); model: a local folder, a hub id or ``default`` (SmolLM2-135M-Instruct);
    output: the folder to write (checkpoints go to ``output/checkpoints``).

    epochs / max_steps (> 0 overrides epochs) / learning_rate / batch_size (per device) /
    grad_accum: the optimisation; max_length: longer sequences are cut (PPM: pairs are dropped);
    val_fraction: share of *problems* held out for validation (no problem is in both); seed: data
    order, split and initialisation; precision: ``auto`` = bf16 where the hardware has it natively (hf.use_bf16), else fp32;
    gradient_checkpointing: trade compute for memory; lora_r > 0 trains LoRA adapters (peft) and
    merges them into the saved model; save_steps: checkpoint every N steps (0 = every epoch);
    save_total_limit: checkpoints kept; resume: continue from the newest checkpoint in output;
    run_ids: keep only rows of these label runs (``label_run_id``; empty = all).
    """

    data: str
    output: str
    model: str = "default"
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    val_fraction: float = 0.1
    seed: int = 0
    precision: str = "auto"
    gradient_checkpointing: bool = False
    lora_r: int = 0
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    save_steps: int = 0
    save_total_limit: int = 2
    logging_steps: int = 10
    resume: bool = False
    progress: bool = True
    run_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.data or not self.output:
            raise ValueError("a trainer needs data (export or label folder) and output")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        for name in ("batch_size", "grad_accum", "max_length", "logging_steps", "save_total_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ValueError("give epochs > 0 or max_steps > 0")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.lora_r < 0 or self.save_steps < 0:
            raise ValueError("lora_r and save_steps must be >= 0")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
