"""Trainers that turn treemill labels into the next round's models (see trainers/README.md).

    sft     policy fine-tuning on correct traces (TRL SFTTrainer)       python -m trainers.sft
    ppm     rStar-Math process preference model (TRL RewardTrainer)     python -m trainers.ppm
    prm     step-level process reward model (float targets)             python -m trainers.prm
    value   AlphaMath policy + value model (joint loss)                  python -m trainers.value

Each is ``trainers.<name>.train(config) -> Path`` with a frozen config dataclass.
"""

TRAINERS = ("sft", "ppm", "prm", "value")
