"""evolve: self-evolution rounds as one resumable command.

    round 0:  evaluate the starting policy on the held-out slice (the baseline)
    round k:  generate (round k's policy, and round k-1's scorer where the recipe uses one)
              -> label -> train (sft, and ppm / value / prm per recipe) -> evaluate on the held-out slice

    python -m pipelines.evolve --recipe rstar --input train.jsonl --eval-input heldout.jsonl --output out/evolve --rounds 2

Recipes:
  rstar      rStar-Math: round 1 terminal-guided MCTS (mcts-rstar, preset rstar-round1); later rounds
             PPM-augmented (preset rstar-ppm with round k-1's PPM); SFT on the top-2 traces; PPM on step pairs
             (initialised from the round's SFT policy).
  alphamath  AlphaMath: MCTS (preset alphamath, lambda = 1) in round 1, then with round k-1's value model
             (alphamath-value, lambda = 0.5); policy and value trained jointly (trainers.value).
  rest-mcts  ReST-MCTS*: rest-mcts search (with round k-1's PRM from round 2 on); PRM on quality values
             plus SFT on correct traces (self-training).

Every round writes OUT/round-K/{trees, policy, <scorer>, eval} and OUT/round-K/manifest.json: per stage the
command, the hashes of every input (problems, shards, checkpoints) and output, and the code version. A
rerun skips every stage whose record matches and whose outputs are intact, so after a kill it resumes
at the first stage whose outputs are missing or stale and never redoes a finished stage
(transforms/evaluate/rounds.py). --dry-run prints the plan.

The trainers are ``python -m trainers.<sft|ppm|prm|value> --data DIR --model MODEL --output DIR``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.common import OneLineParser, UsageError, code_version, fail
from transforms.evaluate.rounds import Manifest, Stage, StageFailed, run_in_subprocess, run_stages
from transforms.search.base import DEFAULT_SYSTEM_PROMPT


@dataclass(frozen=True)
class Recipe:
    """search: generate's search; presets: round 1's and later rounds' search presets; scorer: the
    trainer whose model guides the next round's search (None: none); policy_trainer: the trainer
    whose output is the next policy (``value`` writes it to <scorer>/policy)."""

    name: str
    search: str
    first_preset: str
    later_preset: str
    scorer: str | None
    trainers: tuple[str, ...]


RECIPES = {
    "rstar": Recipe("rstar", "mcts-rstar", "rstar-round1", "rstar-ppm", "ppm", ("sft", "ppm")),
    "alphamath": Recipe("alphamath", "mcts-alphamath", "alphamath", "alphamath-value", "value", ("value",)),
    "rest-mcts": Recipe("rest-mcts", "rest-mcts", "rest-mcts", "rest-mcts", "prm", ("prm", "sft")),
}
DEFAULT_EVAL_METHODS = "greedy,maj@4,pass@4"
LABEL_TABLES = ("steps", "pairs", "sft")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m pipelines.evolve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="rstar", help="default rstar")
    parser.add_argument("--input", help="training problems (jsonl/parquet, as generate's --input)")
    parser.add_argument("--eval-input", help="held-out problems for evaluate (never trained on)")
    parser.add_argument("--preset", default="gsm8k", help="field mapping preset of both inputs (default gsm8k)")
    parser.add_argument("--limit", type=int, help="training problems per round (first N)")
    parser.add_argument("--eval-limit", type=int, help="held-out problems evaluated (first N)")
    parser.add_argument("--output", help="folder of the rounds")
    parser.add_argument("--rounds", type=int, default=1, help="rounds after round 0 (default 1)")
    parser.add_argument("--model", default="default", help="round 0's policy (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--search-param", action="append", default=[], metavar="KEY=VALUE", help="for generate, repeatable")
    parser.add_argument("--train-set", action="append", default=[], metavar="TRAINER:KEY=VALUE",
                        help="trainer option, repeatable (e.g. sft:epochs=2)")
    parser.add_argument("--eval-methods", help=f"evaluate's methods (default {DEFAULT_EVAL_METHODS}, plus prm-last@4 "
                                               "with the round's scorer)")
    parser.add_argument("--eval-param", action="append", default=[], metavar="KEY=VALUE", help="evaluate's --search-param")
    parser.add_argument("--engine-args", default="", help="extra generate/evaluate options, e.g. '--max-model-len 2048'")
    parser.add_argument("--dry-run", action="store_true", help="print the stages and exit")
    return parser


@dataclass(frozen=True)
class RoundState:
    """What round k starts from: the policy and (if any) the scorer of round k-1."""

    policy: str
    scorer: str | None


def _local(model: str | None, args) -> bool:
    """A model folder to hash as a stage input: one an earlier stage writes (under --output, even if it
    does not exist yet when the plan is made) or a local folder the user gave; not a hub id."""
    if not model:
        return False
    return Path(model).is_relative_to(Path(args.output)) or Path(model).exists()


def _repeat(flag: str, values) -> list[str]:
    return [part for value in values for part in (flag, value)]


def evaluate_stage(args, round_dir: Path, state: RoundState, with_scorer: bool) -> Stage:
    methods = args.eval_methods or DEFAULT_EVAL_METHODS + (",prm-last@4" if with_scorer and state.scorer else "")
    argv = ["--input", args.eval_input, "--preset", args.preset, "--output", str(round_dir / "eval"),
            "--model", state.policy, "--methods", methods, *_repeat("--search-param", args.eval_param),
            *shlex.split(args.engine_args)]
    if args.eval_limit:
        argv += ["--limit", str(args.eval_limit)]
    if with_scorer and state.scorer and any(m in methods for m in ("orm", "prm", "vote", "mcts")):
        argv += ["--scorer-model", state.scorer]
    inputs = [args.eval_input] + [m for m in (state.policy, state.scorer if with_scorer else None) if _local(m, args)]
    return Stage("evaluate", "pipelines.evaluate", tuple(argv), tuple(inputs), (str(round_dir / "eval" / "results"),))


def round_stages(args, recipe: Recipe, k: int, before: RoundState) -> tuple[list[Stage], RoundState]:
    """The stages of round k (k >= 1) and the state they leave for round k + 1."""
    out = Path(args.output) / f"round-{k}"
    trees = out / "trees"
    guided = k > 1 and before.scorer is not None and recipe.scorer is not None
    preset = recipe.later_preset if guided else recipe.first_preset
    gen = ["--input", args.input, "--preset", args.preset, "--output", str(trees), "--model", before.policy,
           "--search", recipe.search, "--search-param", f"preset={preset}", *_repeat("--search-param", args.search_param),
           *shlex.split(args.engine_args)]
    if args.limit:
        gen += ["--limit", str(args.limit)]
    if guided:
        gen += ["--scorer-model", before.scorer]
    model_inputs = [m for m in (before.policy, before.scorer if guided else None) if _local(m, args)]
    stages = [
        Stage("generate", "pipelines.generate", tuple(gen), (args.input, *model_inputs),
              (str(trees / "nodes"), str(trees / "problems"))),
        Stage("label", "pipelines.label", ("--shards", str(trees)), (str(trees / "nodes"), str(trees / "problems")),
              tuple(str(trees / t) for t in LABEL_TABLES)),
    ]
    policy, scorer = before.policy, None
    for trainer in recipe.trainers:
        target = out / ("policy" if trainer == "sft" else trainer)
        # rStar-Math initialises the PPM from the round's fine-tuned policy; other trainers start from round k-1's.
        base = str(out / "policy") if trainer == "ppm" and "sft" in recipe.trainers else before.policy
        settings = [s.split(":", 1)[1] for s in args.train_set if s.split(":", 1)[0] == trainer]
        if trainer == "sft":
            settings = [f"max_rank={2 if recipe.name == 'rstar' else 0}", f"system_prompt={DEFAULT_SYSTEM_PROMPT}", *settings]
        argv = ("--data", str(trees), "--model", base, "--output", str(target), *_repeat("--set", settings))
        inputs = tuple(str(trees / t) for t in LABEL_TABLES) + ((base,) if _local(base, args) else ())
        stages.append(Stage(f"train-{trainer}", f"trainers.{trainer}", argv, inputs, (str(target),)))
        if trainer == "sft":
            policy = str(target)
        if trainer == recipe.scorer:
            scorer = str(target)
        if trainer == "value":
            policy = str(target / "policy")  # trainers.value writes the joint model's policy there
    after = RoundState(policy, scorer)
    stages.append(evaluate_stage(args, out, after, with_scorer=True))
    return stages, after


def plan(args) -> list[tuple[int, list[Stage]]]:
    """Every round's stages, round 0 (the baseline evaluation) first."""
    recipe = RECIPES[args.recipe]
    state = RoundState(args.model, None)
    rounds = [(0, [evaluate_stage(args, Path(args.output) / "round-0", state, with_scorer=False)])]
    for k in range(1, args.rounds + 1):
        stages, state = round_stages(args, recipe, k, state)
        rounds.append((k, stages))
    return rounds


def resolve_args(argv=None):
    args = build_parser().parse_args(argv)  # OneLineParser: a bad option is one 'error:' line
    for name in ("input", "eval_input", "output"):
        if not getattr(args, name):
            raise UsageError(f"--{name.replace('_', '-')} is required")
    if Path(args.input).resolve() == Path(args.eval_input).resolve():
        raise UsageError("--eval-input must be held out: it is the same file as --input")
    if args.rounds < 1:
        raise UsageError("--rounds must be >= 1")
    bad = [s for s in args.train_set if ":" not in s or "=" not in s]
    if bad:
        raise UsageError(f"--train-set expects TRAINER:KEY=VALUE, got {bad[0]!r}")
    return args


def run(argv=None, runner=run_in_subprocess) -> dict:
    """Run (or resume) the rounds; returns {round: [stages that ran]}."""
    try:
        args = resolve_args(argv)
        rounds = plan(args)
        if args.dry_run:
            for k, stages in rounds:
                print(f"round {k}:")
                for stage in stages:
                    print(f"  {stage.name}: python -m {stage.module} {shlex.join(stage.argv)}")
            return {}
        version, ran = code_version(), {}
        for k, stages in rounds:
            print(f"round {k}:")
            manifest = Manifest.load(Path(args.output) / f"round-{k}" / "manifest.json")
            ran[k] = run_stages(stages, manifest, runner, version)
    except (UsageError, StageFailed) as err:
        fail(str(err))
    print(f"treemill evolve: {args.output} ({args.recipe}, rounds 0-{args.rounds}); reports in round-*/eval/report/report.md")
    return ran


if __name__ == "__main__":
    run(sys.argv[1:])
