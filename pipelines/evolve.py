"""evolve: self-evolution rounds as one resumable command.

    round 0:  [with --bootstrap: GSM8K solutions -> rStar code traces -> SFT of --model on them]
              evaluate the starting policy on the held-out slice (the baseline)
    round k:  generate (round k's policy, and round k-1's scorer where the recipe uses one)
              -> label -> train (sft, and ppm / value / prm per recipe) -> evaluate on the held-out slice

    python -m pipelines.evolve --recipe rstar --input train.jsonl --eval-input heldout.jsonl --output out/evolve --rounds 2
    python -m pipelines.evolve --demo      # CPU demonstration: bootstrap + one rstar round (see DEMO below)

Recipes:
  rstar      rStar-Math: round 1 terminal-guided MCTS (mcts-rstar, preset rstar-round1); later rounds
             PPM-augmented (preset rstar-ppm with round k-1's PPM); SFT on the top-2 traces; PPM on step pairs
             (initialised from the round's SFT policy).
  alphamath  AlphaMath: MCTS (preset alphamath, lambda = 1) in round 1, then with round k-1's value model
             (alphamath-value, lambda = 0.5); policy and value trained jointly (trainers.value).
  rest-mcts  ReST-MCTS*: rest-mcts search (with round k-1's PRM from round 2 on); PRM on quality values
             plus SFT on correct traces (self-training).

--step-format rstar|alphamath makes every generate and evaluate run in code-step mode (each step a Python
block run in the sandbox) and the SFT prompts carry that format's instructions; --bootstrap FILE (GSM8K
train rows with their annotated solutions) adds rStar-Math's round 0: the solutions are converted to code
traces (``python -m transforms.bootstrap``) and --model is fine-tuned on them (implies --step-format rstar).

Every round writes OUT/round-K/{trees, policy, <scorer>, eval} and OUT/round-K/manifest.json: per stage the
command, the hashes of every input (problems, shards, checkpoints) and output, and the code version. A
rerun skips every stage whose record matches and whose outputs are intact, so after a kill it resumes
at the first stage whose outputs are missing or stale and never redoes a finished stage
(transforms/evaluate/rounds.py). --dry-run prints the plan.

The trainers are ``python -m trainers.<sft|ppm|prm|value> --data DIR --model MODEL --output DIR --resume``
(--resume: a trainer killed mid-run continues from its last checkpoint; a stale stage's outputs are
removed before it runs, so nothing is resumed from other inputs).

DEMO (``--demo``; the split rule was fixed before any run): the bundled
pipelines/data/gsm8k_train_solutions.jsonl holds GSM8K train rows 0-599. Rows 0-399 are the training
pool, rows 400-599 are held out. The easy rule of the bundled demo sample (pipelines/data/README.md:
a question under 170 characters and an integer answer of at most 60; fixed when that sample was
chosen) picks the problems searched and evaluated, because SmolLM2-135M solves almost none of the
others. Round 0 bootstraps on the solutions of pool rows 0 to DEMO_BOOTSTRAP-1, as prose steps
(``transforms.bootstrap --step-format text``; ``--step-format rstar`` after --demo makes them rStar
code traces instead, and every search code-step); round 1 searches the easy pool rows after those
(43); every round is evaluated on the easy held-out rows (32 of rows 400-599), which
nothing trains or tunes on. Sized for a 2-core CPU (12 minutes on an idle one:
docs/benchmarks.md). Options given after --demo override its settings.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.common import OneLineParser, UsageError, code_version, fail
from transforms.bootstrap import FORMATS as BOOTSTRAP_FORMATS
from transforms.bootstrap.gsm8k_code import ConversionError, final_answer, solution_lines
from transforms.step_formats.code import PRESETS as CODE_FORMATS
from transforms.evaluate.rounds import Manifest, Stage, StageFailed, run_in_process, run_in_subprocess, run_stages
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
DEFAULT_SCORER_METHODS = "prm-last@4"  # rStar-Math selects by the PPM's score of the final step
LABEL_TABLES = ("steps", "pairs", "sft")
STEP_FORMATS = ("text", *sorted(CODE_FORMATS))

DEMO_DATA = Path(__file__).parent / "data" / "gsm8k_train_solutions.jsonl"
DEMO_POOL, DEMO_HELD_OUT = range(0, 400), range(400, 600)  # row numbers of DEMO_DATA (see the module docstring)
DEMO_BOOTSTRAP = 128
DEMO_EASY_CHARS, DEMO_EASY_ANSWER = 170, 60  # the easy rule of pipelines/data/README.md
DEMO_OUTPUT = "out/demo-evolve"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m pipelines.evolve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help=f"the CPU demonstration into {DEMO_OUTPUT}/ (see DEMO above)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="rstar", help="default rstar")
    parser.add_argument("--input", help="training problems (jsonl/parquet, as generate's --input)")
    parser.add_argument("--eval-input", help="held-out problems for evaluate (never trained on)")
    parser.add_argument("--preset", default="gsm8k", help="field mapping preset of both inputs (default gsm8k)")
    parser.add_argument("--limit", type=int, help="training problems per round (first N)")
    parser.add_argument("--eval-limit", type=int, help="held-out problems evaluated (first N)")
    parser.add_argument("--output", help="folder of the rounds")
    parser.add_argument("--rounds", type=int, default=1, help="rounds after round 0 (default 1)")
    parser.add_argument("--model", default="default", help="round 0's policy (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--step-format", choices=STEP_FORMATS, help="text (default) or a code-step format for every "
                                                                     "generate and evaluate (rstar with --bootstrap)")
    parser.add_argument("--bootstrap", metavar="PATH", help="round 0: SFT --model on the rStar code traces of these GSM8K "
                                                            "solutions (jsonl with question and annotated answer), or on "
                                                            "the traces of a folder holding an sft table (sft/*.parquet, "
                                                            "e.g. a stronger model's label run) in --step-format's format")
    parser.add_argument("--bootstrap-limit", type=int, help="solutions converted for the bootstrap (first N)")
    parser.add_argument("--search-param", action="append", default=[], metavar="KEY=VALUE", help="for generate, repeatable")
    parser.add_argument("--train-set", action="append", default=[], metavar="TRAINER:KEY=VALUE",
                        help="trainer option, repeatable (e.g. sft:epochs=2)")
    parser.add_argument("--eval-methods", default=DEFAULT_EVAL_METHODS, help=f"evaluate's methods (default {DEFAULT_EVAL_METHODS})")
    parser.add_argument("--eval-scorer-methods", default=DEFAULT_SCORER_METHODS,
                        help=f"added where the round has a scorer (default {DEFAULT_SCORER_METHODS})")
    parser.add_argument("--eval-param", action="append", default=[], metavar="KEY=VALUE", help="evaluate's --search-param")
    parser.add_argument("--engine-args", default="", help="extra generate/evaluate options, e.g. '--max-model-len 2048'")
    parser.add_argument("--in-process", action="store_true",
                        help="run every stage in this process (one import of torch and vLLM; engines shared where the "
                             "model is the same) instead of one subprocess per stage: for small runs and tests")
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
    methods = args.eval_methods + (f",{args.eval_scorer_methods}" if with_scorer and state.scorer and args.eval_scorer_methods else "")
    argv = ["--input", args.eval_input, "--preset", args.preset, "--output", str(round_dir / "eval"),
            "--model", state.policy, "--methods", methods, "--step-format", args.step_format,
            *_repeat("--search-param", args.eval_param), *shlex.split(args.engine_args)]
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
           "--step-format", args.step_format, *shlex.split(args.engine_args)]
    if args.limit:
        gen += ["--limit", str(args.limit)]
    if guided:
        gen += ["--scorer-model", before.scorer]
    model_inputs = [m for m in (before.policy, before.scorer if guided else None) if _local(m, args)]
    stages = [
        # generate resumes a killed run from its per-problem parts (_parts/); a stale one must not reuse them
        Stage("generate", "pipelines.generate", tuple(gen), (args.input, *model_inputs),
              (str(trees / "nodes"), str(trees / "problems")), scratch=(str(trees / "_parts"), str(trees / "manifest.json"))),
        Stage("label", "pipelines.label", ("--shards", str(trees)), (str(trees / "nodes"), str(trees / "problems")),
              tuple(str(trees / t) for t in LABEL_TABLES)),
    ]
    policy, scorer = before.policy, None
    for trainer in recipe.trainers:
        target = out / ("policy" if trainer == "sft" else trainer)
        # rStar-Math initialises the PPM from the round's fine-tuned policy; other trainers start from round k-1's.
        base = str(out / "policy") if trainer == "ppm" and "sft" in recipe.trainers else before.policy
        settings = _train_settings(args, trainer)
        if trainer == "sft":
            settings = [f"max_rank={2 if recipe.name == 'rstar' else 0}", f"system_prompt={_system_prompt(args)}", *settings]
        inputs = tuple(str(trees / t) for t in LABEL_TABLES) + ((base,) if _local(base, args) else ())
        stages.append(_train_stage(trainer, trees, base, target, settings, inputs))
        if trainer == "sft":
            policy = str(target)
        if trainer == recipe.scorer:
            scorer = str(target)
        if trainer == "value":
            policy = str(target / "policy")  # trainers.value writes the joint model's policy there
    after = RoundState(policy, scorer)
    stages.append(evaluate_stage(args, out, after, with_scorer=True))
    return stages, after


def _train_settings(args, trainer: str) -> list[str]:
    return [s.split(":", 1)[1] for s in args.train_set if s.split(":", 1)[0] == trainer]


def _system_prompt(args) -> str:
    """The system turn generate prompts the policy with: the code format's instructions in code mode."""
    return CODE_FORMATS[args.step_format].instructions if args.step_format in CODE_FORMATS else DEFAULT_SYSTEM_PROMPT


def _train_stage(trainer: str, data: Path, base: str, target: Path, settings: list[str], inputs: tuple) -> Stage:
    argv = ("--data", str(data), "--model", base, "--output", str(target), "--resume", *_repeat("--set", settings))
    return Stage(f"train-{trainer}", f"trainers.{trainer}", argv, inputs, (str(target),))


def bootstrap_stages(args) -> tuple[list[Stage], RoundState]:
    """rStar-Math's round 0: annotated GSM8K solutions -> executed code traces -> SFT of --model on them.

    Settings: ``--train-set sft:...`` then ``--train-set bootstrap:...`` (the latter win)."""
    out = Path(args.output) / "round-0"
    data, policy = out / "bootstrap", out / "policy"
    stages = []
    if Path(args.bootstrap).is_dir():  # traces given as an sft table: train on them as they are
        data = Path(args.bootstrap)
    else:
        argv = ["--input", args.bootstrap, "--output", str(data / "traces.jsonl"), "--table", str(data)]
        if args.step_format != "rstar":
            argv += ["--step-format", args.step_format]
        if args.bootstrap_limit:
            argv += ["--limit", str(args.bootstrap_limit)]
        stages.append(Stage("bootstrap", "transforms.bootstrap", tuple(argv), (args.bootstrap,), (str(data / "sft"),)))
    settings = [f"system_prompt={_system_prompt(args)}", *_train_settings(args, "sft"), *_train_settings(args, "bootstrap")]
    base_inputs = (args.model,) if _local(args.model, args) else ()
    stages.append(_train_stage("sft", data, args.model, policy, settings, (str(data / "sft"), *base_inputs)))
    return stages, RoundState(str(policy), None)


def plan(args) -> list[tuple[int, list[Stage]]]:
    """Every round's stages, round 0 (the bootstrap, if any, and the baseline evaluation) first."""
    recipe = RECIPES[args.recipe]
    first, state = bootstrap_stages(args) if args.bootstrap else ([], RoundState(args.model, None))
    rounds = [(0, first + [evaluate_stage(args, Path(args.output) / "round-0", state, with_scorer=False)])]
    for k in range(1, args.rounds + 1):
        stages, state = round_stages(args, recipe, k, state)
        rounds.append((k, stages))
    return rounds


def is_easy(row: dict) -> bool:
    """The demo's easy rule: a question under 170 characters whose answer is an integer of at most 60."""
    try:
        answer = final_answer(solution_lines(str(row["answer"])))
    except ConversionError:  # no '#### answer' line: not a GSM8K solution the rule can read
        return False
    return len(row["question"]) < DEMO_EASY_CHARS and answer.lstrip("-").isdigit() and int(answer) <= DEMO_EASY_ANSWER


def demo_split(lines: list[str]) -> dict[str, list[str]]:
    """The demo's files from DEMO_DATA's lines: bootstrap solutions, round-1 problems, held-out problems."""
    rows = [json.loads(line) for line in lines]
    pool, held_out = list(DEMO_POOL), list(DEMO_HELD_OUT)
    searched = [i for i in pool[DEMO_BOOTSTRAP:] if is_easy(rows[i])]
    return {"bootstrap": [lines[i] for i in pool[:DEMO_BOOTSTRAP]], "train": [lines[i] for i in searched],
            "heldout": [lines[i] for i in held_out if is_easy(rows[i])]}


def demo_argv(argv: list[str]) -> list[str]:
    """The demonstration's settings (the user's own options, given after --demo, win): writes the
    bootstrap solutions, the round-1 problems and the held-out slice under OUTPUT/data by the fixed rule."""
    given = build_parser().parse_args(argv)
    out = Path(given.output or DEMO_OUTPUT)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, lines in demo_split(DEMO_DATA.read_text(encoding="utf-8").splitlines()).items():
        path = data / f"{name}.jsonl"
        text = "".join(line + "\n" for line in lines)
        if not path.exists() or path.read_text(encoding="utf-8") != text:  # rewrite only on change: keeps hashes
            path.write_text(text, encoding="utf-8")
    preset = ["--output", str(out), "--bootstrap", str(data / "bootstrap.jsonl"), "--input", str(data / "train.jsonl"),
              "--eval-input", str(data / "heldout.jsonl"), "--recipe", "rstar", "--rounds", "1",
              "--step-format", "text",
              # round 1: rStar's round-1 MCTS cut to CPU size (8 rollouts of 4 candidate steps, 6 steps deep)
              "--search-param", "rollouts=8", "--search-param", "n=4", "--search-param", "max_depth=6",
              "--search-param", "max_tokens=160",
              # one epoch each; the bootstrap and round-1 SFT at a higher rate than the default (few steps on CPU)
              "--train-set", "sft:max_length=768", "--train-set", "sft:batch_size=8", "--train-set", "sft:val_fraction=0.05",
              "--train-set", "sft:learning_rate=5e-5", "--train-set", "bootstrap:learning_rate=1e-4",
              "--train-set", "ppm:max_length=768", "--train-set", "ppm:batch_size=4", "--train-set", "ppm:epochs=2",
              "--train-set", "ppm:val_fraction=0.1",
              # 8 chains per problem: pass@8 bounds every selection; maj@1 (one chain) is random selection
              "--eval-methods", "greedy,maj@8,pass@8", "--eval-scorer-methods", "prm-last@8,prm-min@8",
              "--eval-param", "max_tokens=160", "--eval-param", "max_depth=6", "--eval-param", "best-of-n.temperature=0.7",
              "--engine-args", "--max-model-len 2048 --no-progress"]
    return preset + [a for a in argv if a != "--demo"]


def resolve_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--demo" in argv:
        argv = demo_argv(argv)
    args = build_parser().parse_args(argv)  # OneLineParser: a bad option is one 'error:' line
    converts = args.bootstrap and not Path(args.bootstrap).is_dir()
    if converts and args.step_format not in (None, *BOOTSTRAP_FORMATS):
        raise UsageError(f"--bootstrap FILE writes rStar code traces or prose steps: it needs --step-format "
                         f"{' or '.join(BOOTSTRAP_FORMATS)}")
    if args.bootstrap and not Path(args.bootstrap).exists():
        raise UsageError(f"--bootstrap {args.bootstrap}: no such file or folder")
    args.step_format = args.step_format or ("rstar" if converts else "text")
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


def run(argv=None, runner=None) -> dict:
    """Run (or resume) the rounds; returns {round: [stages that ran]}."""
    try:
        args = resolve_args(argv)
        runner = runner or (run_in_process if args.in_process else run_in_subprocess)
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
