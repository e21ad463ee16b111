"""Every labelling rule as a named option of a frozen dataclass.

Each field carries its help text in ``metadata["help"]``; ``pipelines.label`` turns every field of
every group into a command-line flag ``--<group>-<field>``, so ``--help`` documents them all and a
new option needs no parser code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from schemas.labels import PRM_LABELS

UNDECIDED = ("wrong", "skip")


def option(default, help: str, choices: tuple[str, ...] | None = None):
    return field(default=default, metadata={"help": help, "choices": choices})


def _at_least(owner: object, minimum: float, *names: str) -> None:
    for name in names:
        if getattr(owner, name) < minimum:
            raise ValueError(f"{type(owner).__name__}.{name} must be >= {minimum}, got {getattr(owner, name)}")


def _one_of(owner: object, name: str, choices: tuple[str, ...]) -> None:
    if getattr(owner, name) not in choices:
        raise ValueError(f"{type(owner).__name__}.{name} must be one of {', '.join(choices)}, got {getattr(owner, name)!r}")


@dataclass(frozen=True)
class StepOptions:
    undecided: str = option("wrong", "how a terminal step without a verdict (no answer, verifier timeout) counts: "
                                     "wrong (reward -1, as rStar-Math scores any non-correct answer) or skip "
                                     "(left out of every label, pair and trace)", UNDECIDED)
    prm_label: str = option("soft", "which value fills steps.label, the float PRM label: soft (Math-Shepherd SE), "
                                    "hard (Math-Shepherd HE), rest (ReST-MCTS* v_k) or q ((Q + 1) / 2)", PRM_LABELS)

    def __post_init__(self) -> None:
        _one_of(self, "undecided", UNDECIDED)
        _one_of(self, "prm_label", PRM_LABELS)


@dataclass(frozen=True)
class SftOptions:
    top_k: int = option(2, "correct traces kept per problem, best mean Q first, then best min Q (rStar-Math keeps 2)")
    drop_code_errors: bool = option(True, "drop traces with a step whose code did not run cleanly (exec_status not ok)")

    def __post_init__(self) -> None:
        _at_least(self, 1, "top_k")


@dataclass(frozen=True)
class PpmOptions:
    per_side: int = option(2, "positives (highest-Q children leading to a correct answer) and negatives "
                              "(lowest-Q children leading only to wrong ones) taken per node (rStar-Math: 2)")
    single_side_max: int = option(4, "when one side has a single candidate, the other side may take up to this many")
    min_margin: float = option(0.5, "keep a pair only if Q(positive) - Q(negative) >= this")
    min_edit_distance: int = option(5, "keep a pair only if the two step texts differ by at least this many character edits")

    def __post_init__(self) -> None:
        _at_least(self, 1, "per_side", "single_side_max")
        _at_least(self, 0, "min_edit_distance")


@dataclass(frozen=True)
class SiblingOptions:
    min_margin: float = option(0.5, "keep the highest-Q vs lowest-Q sibling pair only if their Q margin is >= this")
    min_edit_distance: int = option(5, "keep a pair only if the two step texts differ by at least this many character edits")

    def __post_init__(self) -> None:
        _at_least(self, 0, "min_edit_distance")


@dataclass(frozen=True)
class SolutionOptions:
    max_pairs: int = option(4, "full-solution pairs per problem (correct vs incorrect traces, best-ranked combinations first)")
    min_margin: float = option(0.0, "keep a pair only if mean Q(correct trace) - mean Q(incorrect trace) >= this")
    min_edit_distance: int = option(5, "keep a pair only if the two solutions differ by at least this many character edits")

    def __post_init__(self) -> None:
        _at_least(self, 0, "max_pairs", "min_edit_distance")


@dataclass(frozen=True)
class LabelOptions:
    """All label options, one group per rule; the group names are the flag prefixes."""

    step: StepOptions = StepOptions()
    sft: SftOptions = SftOptions()
    ppm: PpmOptions = PpmOptions()
    sibling: SiblingOptions = SiblingOptions()
    solution: SolutionOptions = SolutionOptions()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def option_groups() -> dict[str, type]:
    """Group name -> option dataclass, in the order of LabelOptions."""
    return {f.name: type(f.default) for f in dataclasses.fields(LabelOptions)}
