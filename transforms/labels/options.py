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
CODE_ERRORS = ("skip", "wrong")
Q_SOURCES = ("auto", "terminal")
NEGATIVES = ("only_wrong", "any_wrong")
SOLUTION_MODES = ("rstar", "ranked")


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
    unfinished: str = option("wrong", "how a step cut at the depth or token limit, or empty (verdict_method "
                                      "too_many_steps, length, empty_step) counts: wrong (reward -1, as AlphaMath and "
                                      "rStar-Math's searches score TOO_MANY_STEPS) or skip (as rStar-Math's released "
                                      "pair and SFT extraction)", UNDECIDED)
    code_errors: str = option("skip", "steps whose code did not run or that did not parse (exec_status not ok, "
                                      "verdict_method code_error or malformed_step): skip (left out of completions, "
                                      "values and pairs with every step below them, as rStar-Math keeps only steps "
                                      "whose code runs) or wrong (explicit negatives, reward -1)", CODE_ERRORS)
    q_source: str = option("auto", "the Q that pairs and SFT rank by: auto (the search's stored Q where it estimates "
                                   "the terminal reward on the +-1 scale -- mcts-rstar, mcts-alphamath -- else Q from "
                                   "terminal rewards) or terminal (always Q from terminal rewards)", Q_SOURCES)
    prm_label: str = option("soft", "which value fills steps.label, the float PRM label: soft (Math-Shepherd SE), "
                                    "hard (Math-Shepherd HE), rest (ReST-MCTS* v_k) or q ((Q + 1) / 2)", PRM_LABELS)

    def __post_init__(self) -> None:
        _one_of(self, "undecided", UNDECIDED)
        _one_of(self, "unfinished", UNDECIDED)
        _one_of(self, "code_errors", CODE_ERRORS)
        _one_of(self, "q_source", Q_SOURCES)
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
                              "(lowest-Q children leading to wrong ones) taken per node (rStar-Math: 2)")
    single_side_max: int = option(4, "when one side has a single candidate, the other side may take up to this many "
                                     "(rStar-Math released code: 4)")
    min_margin: float = option(0.5, "keep a pair only if Q(positive) - Q(negative) >= this (released code: 0.5)")
    min_edit_distance: int = option(20, "keep a pair only if the two step texts differ by at least this many "
                                        "character edits (released code: 20)")
    negatives: str = option("only_wrong", "which children can be negatives: only_wrong (every completion below is "
                                          "wrong; the paper's 'lead to incorrect answers') or any_wrong (some "
                                          "completion below is wrong, as rStar-Math's released code)", NEGATIVES)
    continuation_check: bool = option(True, "keep a pair only if the positive's best continuation (highest-Q child "
                                            "leading to a correct answer, down to a leaf) has a higher mean Q than "
                                            "the negative's worst one (released code)")

    def __post_init__(self) -> None:
        _at_least(self, 1, "per_side", "single_side_max")
        _at_least(self, 0, "min_edit_distance")
        _one_of(self, "negatives", NEGATIVES)


@dataclass(frozen=True)
class SiblingOptions:
    min_margin: float = option(0.5, "keep the highest-Q vs lowest-Q sibling pair only if their Q margin is >= this")
    min_edit_distance: int = option(5, "keep a pair only if the two step texts differ by at least this many character edits")

    def __post_init__(self) -> None:
        _at_least(self, 0, "min_edit_distance")


@dataclass(frozen=True)
class SolutionOptions:
    mode: str = option("rstar", "rstar: the 2 best correct traces x the 2 worst incorrect ones by mean Q (rStar-Math's "
                                "final-step pairs, weights 1/(pos_count*neg_count)); ranked: up to max_pairs "
                                "combinations, smallest rank sum first (Iterative RPO)", SOLUTION_MODES)
    per_side: int = option(2, "rstar mode: correct and incorrect traces taken per problem (rStar-Math: 2)")
    max_pairs: int = option(4, "ranked mode: full-solution pairs per problem (correct vs incorrect traces, "
                               "best-ranked combinations first)")
    min_margin: float = option(0.0, "keep a pair only if mean Q(correct trace) - mean Q(incorrect trace) >= this")
    min_edit_distance: int = option(5, "keep a pair only if the two solutions differ by at least this many character edits")

    def __post_init__(self) -> None:
        _at_least(self, 0, "max_pairs", "min_edit_distance")
        _at_least(self, 1, "per_side")
        _one_of(self, "mode", SOLUTION_MODES)


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
