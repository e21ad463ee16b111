"""evaluate: a policy (and optional scorer) on held-out problems -> per-problem results + a report.

    read -> validate -> dedupe -> batch -> search (once per search the methods need) -> score -> select -> write
    or, with --trees: read stored trees -> group by problem -> score -> select -> write (nothing generated)

Methods (--methods, comma-separated): greedy, maj@K, pass@K (oracle), orm@K, prm-min@K, prm-last@K,
prm-prod@K, vote-orm@K / vote-prm-min@K / ... (scorer-weighted vote), sbs / sbs-B1xB2 (AlphaMath
step-level beam search), mcts / mcts@N (AlphaMath MCTS on the value model alone). All @K methods share
one N-sample best-of-n search (N = the largest K); the report adds the accuracy-vs-N curve of each
@K family at K = 1, 2, 4, ..., N. No method lets a search see the gold answer (see
transforms/evaluate/methods.py).

Input options are generate's (--input, --preset gsm8k|math, --input-format, --limit, ...), and so are
the model, scorer, step-format and verifier options. --search-param KEY=VALUE sets KEY in every search
whose config has it (e.g. max_tokens=320, temperature=0.8); SEARCH.KEY=VALUE sets it in one search
(best-of-n.temperature=1.0, sbs.max_depth=6, mcts.c_puct=2); the method name's own values (N, B1, B2,
iterations) win.

Output: results/ (schema eval_results/v1, one row per problem and method), searches/<search>/nodes and
problems/ (each search's trees in generate's layout: re-select them with --trees, or label them),
dead_letters/, manifest.json and report/ (report.md, report.json, accuracy_vs_n.png).

    python -m pipelines.evaluate prm --data FILE ...

scores a PRM on ProcessBench-format or PRM800K-format files (run it with --help).
Unrecognised options are passed to Apache Beam.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass

import apache_beam as beam
import duckdb
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines import generate
from pipelines.common import (UsageError, counters, fail, log_path, parse_pipeline_args, quiet_console, stage,
                              write_manifest)
from pipelines.search_help import search_help
from schemas import DEAD_LETTERS_V1, EVAL_RESULTS_V1, NODES_V1, PROBLEMS_V1
from transforms.evaluate.methods import Method, SearchGroup, curve_ks, parse_methods, plan_searches
from transforms.evaluate.report import write_report
from transforms.evaluate.select import nodes_to_score, select, subtree_tokens, tokens_used
from transforms.io.ingest import DEAD, IngestError, IngestProblems, ReadProblems, dead_letter
from transforms.protocols import GenerationRequest, SamplingSpec
from transforms.runner.run_search import SearchDoFn, SearchSettings
from transforms.scorer import ScorerSpec, shared_scorer
from transforms.search import get_search
from transforms.search.continuous import make_scheduler
from transforms.search.stepwise import score_requests
from transforms.search.tree import Tree
from transforms.io.shards import ReadTrees, WriteShards, clear_shards

DEMO_OUTPUT = "out/demo-evaluate"
DEFAULT_METHODS = "greedy,maj@8,pass@8"
DEFAULT_SCORER_METHODS = "orm@8,prm-min@8,prm-prod@8,vote-prm-min@8"
SEARCH_ALIASES = {"mcts": "mcts-alphamath"}
REPLAYABLE = ("greedy", "best-of-n", "sbs")  # stored trees whose selection cannot have seen the gold answer


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """generate's options (input, model, scorer, verifier), less --search, plus the evaluation group."""
    parser = generate.build_parser()
    parser.prog, parser.description = "python -m pipelines.evaluate", __doc__
    parser.set_defaults(search=None)  # evaluate runs the searches its methods need
    # generate's --search is refused here and its --demo text names generate's output: say evaluate's.
    actions = {flag: action for action in parser._actions for flag in action.option_strings}
    actions["--search"].help = argparse.SUPPRESS
    actions["--verbose"].help = "show library logs (vLLM, Beam, torch) on the console instead of <output>/logs/evaluate.log"
    actions["--demo"].help = f"evaluate the bundled GSM8K sample into {DEMO_OUTPUT}/ unless --output is given (max_tokens=256)"
    actions["--search-param"].help = ("KEY=VALUE for every search with that option, or SEARCH.KEY=VALUE for one "
                                      "(best-of-n, greedy, sbs, mcts); repeatable")
    group = parser.add_argument_group("evaluation")
    group.add_argument("--methods", help=f"comma-separated methods (default {DEFAULT_METHODS}, plus "
                                         f"{DEFAULT_SCORER_METHODS} with --scorer-model)")
    group.add_argument("--trees", help="output folder of an earlier generate (or evaluate searches/<search>) run: "
                                       "select again from its stored trees (nodes/, problems/), generating nothing")
    group.add_argument("--orm-model", help="a separate outcome reward model for orm@K (default: the --scorer-model's "
                                           "score of the whole solution, which then equals prm-last@K)")
    return parser


@dataclass(frozen=True)
class EvalPlan:
    """Everything the evaluation DoFns need, all picklable."""

    run_id: str
    methods: tuple[Method, ...]          # requested first, then extra curve points
    requested: tuple[str, ...]
    groups: tuple[tuple[SearchGroup, SearchSettings], ...]
    scorer: ScorerSpec | None
    orm: ScorerSpec | None
    show_progress: bool = False


def with_curve_points(methods: tuple[Method, ...]) -> tuple[Method, ...]:
    """The requested methods plus each @K family at K = 1, 2, 4, ..., N (and maj@K always, the baseline)."""
    largest = max((m.k for m in methods if m.shares_samples), default=0)
    if not largest:
        return methods
    families = {"maj"} | {m.name.split("@")[0] for m in methods if m.shares_samples}
    extra = ",".join(f"{family}@{k}" for family in sorted(families) for k in curve_ks(largest))
    known = {m.name for m in methods}
    return methods + tuple(m for m in parse_methods(extra) if m.name not in known)


def _search_fields(search: str) -> set[str]:
    return {f.name for f in dataclasses.fields(get_search(search).config_cls)}


def group_params(group: SearchGroup, user: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The user's --search-param values that apply to this group's search, then the method's own."""
    fields, params = _search_fields(group.search), {}
    for key, value in user:
        scope, _, name = key.rpartition(".")
        if scope and SEARCH_ALIASES.get(scope, scope) != group.search:
            continue
        if name in fields:
            params[name] = value
    return tuple({**params, **dict(group.params)}.items())


def _check_search_params(user: tuple[tuple[str, str], ...], groups: tuple[SearchGroup, ...]) -> None:
    searches = {g.search for g in groups}
    for key, _ in user:
        scope, _, name = key.rpartition(".")
        scope = SEARCH_ALIASES.get(scope, scope)
        if scope and scope not in searches:
            raise UsageError(f"--search-param {key}: no method here runs search {scope!r} (running: {', '.join(sorted(searches))})")
        targets = [scope] if scope else sorted(searches)
        if not any(name in _search_fields(s) for s in targets):
            raise UsageError(f"--search-param {key}: no option {name!r} in search(es) {', '.join(targets)}")


def _methods(args) -> tuple[Method, ...]:
    default = DEFAULT_METHODS + ("," + DEFAULT_SCORER_METHODS if args.scorer_model else "")
    try:
        return parse_methods(args.methods or default)
    except ValueError as err:
        raise UsageError(str(err)) from None


def resolve_args(argv=None):
    """Parse and check options; returns (args, beam_args, plan, mapping). Raises UsageError."""
    args, beam_args = parse_pipeline_args(build_parser(), argv)
    if args.search_help:
        print(search_help(args.search_help))
        raise SystemExit(0)
    if args.search is not None:
        raise UsageError("evaluate runs the searches its --methods need; drop --search (e.g. --methods greedy,maj@8,sbs-3x5)")
    if args.trees and (args.input or args.demo):
        raise UsageError("--trees re-selects stored trees; it cannot be combined with --input or --demo")
    if args.trees and not args.methods:
        raise UsageError("--trees needs --methods (which of the stored trees' selections to evaluate)")
    if args.demo:
        args.output = args.output or DEMO_OUTPUT
    requested = _methods(args)
    methods = with_curve_points(requested)
    groups = plan_searches(methods)
    user_params = generate._pairs(args.search_param, "--search-param")
    _check_search_params(user_params, groups)
    if args.trees:
        return _resolve_replay(args, beam_args, requested, methods, groups)
    if args.demo and not user_params:
        user_params = (("max_tokens", "256"),)
    args.search, args.search_param = groups[0].search, []  # generate's checks run on the first search; all are checked below
    args, beam_args, base, mapping = generate.settings_from_args(args, beam_args)
    settings = []
    for group in groups:
        group_settings = dataclasses.replace(base, search=group.search, search_params=group_params(group, user_params),
                                             progress_total=None)
        try:
            group_settings.config()
        except (ValueError, TypeError) as err:
            raise UsageError(f"{group.label}: {err}") from None
        settings.append((group, group_settings))
    _check_scorers(methods, base.scorer)
    plan = EvalPlan(base.run_id, methods, tuple(m.name for m in requested), tuple(settings), base.scorer, _orm_spec(args),
                    show_progress=not args.no_progress)
    return args, beam_args, plan, mapping


def _check_scorers(methods: tuple[Method, ...], scorer: ScorerSpec | None) -> None:
    needy = [m.name for m in methods if m.needs_scorer]
    if needy and scorer is None:
        raise UsageError(f"method(s) {', '.join(dict.fromkeys(needy))} need a scorer: give --scorer-model "
                         f"(mcts evaluates with the value model alone, never the verifier's reward)")


def _orm_spec(args) -> ScorerSpec | None:
    if not args.orm_model:
        return None
    return generate._scorer_spec(argparse.Namespace(**{**vars(args), "scorer_model": args.orm_model}))


def _resolve_replay(args, beam_args, requested, methods, groups):
    """--trees: the stored trees are the searches; only selection (and scoring) runs."""
    if not args.output:
        raise UsageError("--output is required")
    stored = [g.search for g in groups if g.search not in REPLAYABLE]
    if stored:
        raise UsageError(f"stored {', '.join(sorted(set(stored)))} trees cannot be re-selected: their Q values may hold "
                         f"the verifier's reward (methods that replay: greedy, @K methods, sbs)")
    try:
        scorer = generate._scorer_spec(args)
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from None
    _check_scorers(methods, scorer)
    inputs = []
    for table in ("nodes", "problems"):
        found = FileSystems.match([FileSystems.join(args.trees, table, "*.parquet")])[0].metadata_list
        if not found:
            raise UsageError(f"no {table} shards in {args.trees}/{table}/ (is --trees the output folder of a generate run?)")
        inputs += [f"{m.path}:{m.size_in_bytes}" for m in found]
    config = {k: v for k, v in vars(args).items() if k not in ("run_id", "no_progress", "output")}
    payload = json.dumps({"config": config, "inputs": sorted(inputs)}, sort_keys=True, default=str)
    run_id = args.run_id or hashlib.sha256(payload.encode()).hexdigest()[:12]
    plan = EvalPlan(run_id, methods, tuple(m.name for m in requested), tuple((g, None) for g in groups), scorer,
                    _orm_spec(args))
    return args, beam_args, plan, None


# --------------------------------------------------------------------------------------------
# Scoring and selection (shared by the live and the stored-tree paths)
# --------------------------------------------------------------------------------------------


@dataclass
class Searched:
    """One problem's tree from one search, with what it cost."""

    group: SearchGroup
    tree: Tree
    config_hash: str
    source_run_id: str
    tokens: int | None = None
    seconds: float | None = None


def score_all(items: list[list[Searched]], scorer, orm) -> tuple[list[tuple[dict, dict]], float]:
    """Score every node the methods need, over all problems, in one call per scorer.

    Returns per problem, per searched tree, (prm scores, orm scores) by node path, and the seconds spent."""
    prm_requests, orm_requests, prm_owners, orm_owners = [], [], [], []
    for p, searched in enumerate(items):
        for t, s in enumerate(searched):
            steps, leaves = nodes_to_score(s.tree, s.group.methods)
            prm_requests += score_requests(s.tree, steps)
            prm_owners += [(p, t, n.path) for n in steps]
            orm_requests += score_requests(s.tree, leaves)
            orm_owners += [(p, t, n.path) for n in leaves]
    scores = [[({}, {}) for _ in searched] for searched in items]
    start = time.perf_counter()
    if prm_requests:
        for (p, t, path), value in zip(prm_owners, scorer.score(prm_requests)):
            scores[p][t][0][path] = float(value)
    if orm_requests:
        for (p, t, path), value in zip(orm_owners, (orm or scorer).score(orm_requests)):
            scores[p][t][1][path] = float(value)
    return scores, time.perf_counter() - start


def result_rows(plan: EvalPlan, problem: dict, searched: list[Searched], scores, score_seconds: float,
                model_id: str | None, scorer_id: str | None) -> list[dict]:
    """One eval_results/v1 row per method of each searched tree."""
    rows = []
    for s, (prm, orm) in zip(searched, scores):
        total_tokens = s.tokens if s.tokens is not None else subtree_tokens(s.tree.root)
        for method in s.group.methods:
            choice = select(s.tree, method, prm, orm)
            tokens = tokens_used(s.tree, method, s.tokens)
            seconds = None
            if s.seconds is not None:
                share = tokens / total_tokens if method.shares_samples and total_tokens else 1.0
                seconds = s.seconds * share + (score_seconds if method.scoring else 0.0)
            rows.append({
                "eval_run_id": plan.run_id, "problem_id": problem["problem_id"], "method": method.name,
                "in_table": method.name in plan.requested, "selector": method.selector, "scoring": method.scoring,
                "k": method.k, "search": s.group.search, "search_config_hash": s.config_hash,
                "source_run_id": s.source_run_id, "answer": choice.answer, "gold_answer": problem["gold_answer"],
                "correct": choice.correct, "considered": choice.considered, "support": choice.support,
                "seconds": seconds, "generated_tokens": tokens, "model_id": model_id,
                # sbs ranks by the scorer when there is one (by log-probability otherwise)
                "scorer_id": scorer_id if method.needs_scorer or s.group.search == "sbs" else None,
            })
    return rows


class _Scoring:
    """Mixin: score and select for a batch of problems, dead-lettering a problem whose selection fails."""

    def _finish(self, problems: list[dict], items: list[list[Searched]], model_id: str | None):
        if self.scorer:
            scores, seconds = score_all(items, self.scorer, self.orm)
        else:
            scores, seconds = [[({}, {})] * len(s) for s in items], 0.0
        per_problem = seconds / len(problems) if problems else 0.0
        scorer_id = self.plan.scorer.model if self.plan.scorer else None
        for problem, searched, score in zip(problems, items, scores):
            try:
                rows = result_rows(self.plan, problem, searched, score, per_problem, model_id, scorer_id)
            except (ValueError, KeyError) as err:
                self.dead.inc()
                yield beam.pvalue.TaggedOutput(DEAD, dead_letter("select", f"{type(err).__name__}: {err}",
                                                                 problem["problem_id"], problem))
                continue
            self.evaluated.inc()
            yield problem["problem_id"], rows


class EvaluateDoFn(SearchDoFn, _Scoring):
    """list of problem rows -> (problem_id, result rows) per problem; each search's node rows tagged by
    its group label; a problem whose search or selection fails goes to ``dead`` (all its methods)."""

    def __init__(self, plan: EvalPlan):
        super().__init__(plan.groups[0][1])
        self.plan = plan
        self.evaluated = Metrics.counter("treemill", "problems_evaluated")

    def setup(self):
        super().setup()
        self._start_backends()  # evaluation always searches: start the engine now, not lazily
        self.orm = shared_scorer(self.plan.orm) if self.plan.orm else None
        # One tiny request first, so the first method's seconds don't include the engine's warm-up.
        self.policy.generate([GenerationRequest(self.policy.chat_prompt("1 + 1 = ?"), SamplingSpec(n=1, max_tokens=1, temperature=0.0))])

    def process(self, problems: list[dict]):
        items: list[list[Searched]] = [[] for _ in problems]
        failed: dict[int, str] = {}
        verifier_tag = f"{self.verifier.name}/{self.verifier.version}"
        for group, settings in self.plan.groups:
            trees = [Tree(p["problem_id"], p["question"], p["gold_answer"]) for p in problems]
            scheduler = make_scheduler(settings.scheduler, self.policy, scorer=self.scorer)
            start = time.perf_counter()
            outcomes = scheduler.run(trees, settings.algorithm().search, settings.config(), self.make_env)
            elapsed = time.perf_counter() - start
            seconds = elapsed / len(problems)
            self.tokens.inc(scheduler.stats.generated_tokens)
            if self.plan.show_progress:  # a long evaluation writes nothing until its end: say where it is
                print(f"[treemill evaluate] {group.label} searched {len(problems)} problems in {elapsed:.1f} s "
                      f"({scheduler.stats.generated_tokens} tokens)", file=sys.stderr, flush=True)
            digest = settings.config_hash()
            for i, outcome in enumerate(outcomes):
                if outcome.error:
                    failed.setdefault(i, f"search {group.label}: {outcome.error}")
                    continue
                items[i].append(Searched(group, outcome.tree, digest, self.plan.run_id,
                                         outcome.env.generated_tokens, seconds))
                rows = outcome.tree.to_rows(run_id=self.plan.run_id, model_id=self.policy.model_id,
                                            search=group.search, search_config_hash=digest, verifier=verifier_tag)
                self.nodes.inc(len(rows))
                yield beam.pvalue.TaggedOutput(group.label, (problems[i]["problem_id"], rows))
        for i, reason in failed.items():
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD, dead_letter("search", reason, problems[i]["problem_id"], problems[i]))
        ok = [i for i in range(len(problems)) if i not in failed]
        self.searched.inc(len(ok))
        yield from self._finish([problems[i] for i in ok], [items[i] for i in ok], self.policy.model_id)


class ReplayDoFn(beam.DoFn, _Scoring):
    """list of (problem_id, {nodes, problems}) -> result rows from stored trees; nothing is generated."""

    def __init__(self, plan: EvalPlan):
        self.plan = plan
        self.evaluated = Metrics.counter("treemill", "problems_evaluated")
        self.dead = Metrics.counter("treemill", "dead_letters_select")

    def setup(self):
        self.scorer = shared_scorer(self.plan.scorer) if self.plan.scorer else None
        self.orm = shared_scorer(self.plan.orm) if self.plan.orm else None

    def process(self, batch: list):
        problems, items, model_id = [], [], None
        for problem_id, grouped in batch:
            node_rows, problem_rows = list(grouped["nodes"]), list(grouped["problems"])
            if not node_rows:
                continue  # generate already dead-lettered a problem it could not search
            problem = problem_rows[0] if problem_rows else {"problem_id": problem_id, "question": "", "gold_answer": ""}
            try:
                searched = self._stored(problem, node_rows)
            except ValueError as err:
                self.dead.inc()
                yield beam.pvalue.TaggedOutput(DEAD, dead_letter("select", str(err), problem_id,
                                                                 {"problem_id": problem_id, "node_rows": len(node_rows)}))
                continue
            model_id = model_id or node_rows[0].get("model_id")
            problems.append(problem)
            items.append(searched)
        if problems:
            yield from self._finish(problems, items, model_id)

    def _stored(self, problem: dict, node_rows: list[dict]) -> list[Searched]:
        """The stored tree each method group reads: the first stored run of its search (by run id)."""
        by_run: dict[tuple, list[dict]] = {}
        for row in node_rows:
            by_run.setdefault((row["search"], row["run_id"], row["search_config_hash"]), []).append(row)
        searched = []
        for group, _ in self.plan.groups:
            keys = sorted(k for k in by_run if k[0] == group.search)
            if not keys:
                raise ValueError(f"no stored {group.search} tree for method(s) "
                                 f"{', '.join(m.name for m in group.methods)} (stored: {', '.join(sorted({k[0] for k in by_run}))})")
            search, run_id, digest = keys[0]
            tree = Tree.from_rows(by_run[keys[0]], problem["question"], problem["gold_answer"])
            _check_samples(tree, group)
            searched.append(Searched(group, tree, digest, run_id))
        return searched


def _check_samples(tree: Tree, group: SearchGroup) -> None:
    largest = max((m.k for m in group.methods if m.k), default=0)
    if largest > len(tree.root.children) and group.search == "best-of-n":
        raise ValueError(f"stored best-of-n tree has {len(tree.root.children)} samples; methods ask for {largest}")


# --------------------------------------------------------------------------------------------
# Pipeline
# --------------------------------------------------------------------------------------------


def _write_dead(dead, out: str) -> None:
    _ = (dead | "KeyDead" >> beam.Map(lambda d: (d["stage"], [d]))
         | "WriteDeadLetters" >> WriteShards(f"{out}/dead_letters", "dead_letters", DEAD_LETTERS_V1, 1,
                                             ("stage", "record_id", "reason")))


def _write_results(results, args) -> None:
    _ = results | "WriteResults" >> WriteShards(f"{args.output}/results", "results", EVAL_RESULTS_V1,
                                                args.num_shards, ("problem_id", "method"))


def build_pipeline(pipeline: beam.Pipeline, args, plan: EvalPlan, mapping) -> None:
    """The labelled stages of evaluate (generating)."""
    read = ReadProblems(args.input, args.input_format, args.hf_split, args.hf_config, args.limit)
    ingested = pipeline | "Ingest" >> IngestProblems(read, mapping)
    problems = ingested["problems"]
    labels = [group.label for group, _ in plan.groups]
    evaluated = (problems
                 | "Batch" >> beam.BatchElements(min_batch_size=args.batch_size, max_batch_size=args.batch_size)
                 | "SearchScoreSelect" >> beam.ParDo(EvaluateDoFn(plan)).with_outputs(DEAD, *labels, main="results"))
    _write_results(evaluated.results, args)
    for label in labels:
        _ = evaluated[label] | f"WriteNodes_{label}" >> WriteShards(
            f"{args.output}/searches/{label}/nodes", "nodes", NODES_V1, args.num_shards, ("problem_id", "path"))
    keyed = problems | "KeyProblems" >> beam.Map(lambda p: (p["problem_id"], [p]))
    for label in labels:  # each search folder is a complete generate-layout run: label and --trees read it
        _ = keyed | f"WriteProblems_{label}" >> WriteShards(
            f"{args.output}/searches/{label}/problems", "problems", PROBLEMS_V1, 1, ("problem_id",))
    _write_dead((ingested["dead"], evaluated[DEAD]) | "AllDeadLetters" >> beam.Flatten(), args.output)


def build_replay_pipeline(pipeline: beam.Pipeline, args, plan: EvalPlan) -> None:
    """The labelled stages of evaluate --trees (re-selection, nothing generated)."""
    selected = (pipeline
                | "ReadTrees" >> ReadTrees(args.trees)
                | "Batch" >> beam.BatchElements(min_batch_size=args.batch_size, max_batch_size=args.batch_size)
                | "ScoreSelect" >> beam.ParDo(ReplayDoFn(plan)).with_outputs(DEAD, main="results"))
    _write_results(selected.results, args)
    _write_dead(selected[DEAD], args.output)


def _outputs(args, plan: EvalPlan) -> list[tuple[str, str]]:
    folders = [(f"{args.output}/results", "results"), (f"{args.output}/dead_letters", "dead_letters")]
    if not args.trees:
        for group, _ in plan.groups:
            folders += [(f"{args.output}/searches/{group.label}/{t}", t) for t in ("nodes", "problems")]
    return folders


def read_results(output: str) -> list[dict]:
    pattern = f"{output}/results/results-*-of-*.parquet".replace("'", "''")
    if not FileSystems.match([pattern])[0].metadata_list:
        return []
    return duckdb.sql(f"SELECT * FROM read_parquet('{pattern}') ORDER BY problem_id").to_arrow_table().to_pylist()


def summarize(args, plan: EvalPlan, counts: dict[str, int]) -> dict:
    """Counts that must add up, the report folder, and the printed summary."""
    rows = read_results(args.output)
    # Keep the method order of the command line (then the curve points) in the table and JSON.
    order = {m.name: i for i, m in enumerate(plan.methods)}
    rows.sort(key=lambda r: order.get(r["method"], len(order)))
    evaluated = len({r["problem_id"] for r in rows})
    dead_ingest = counts.get("dead_letters_validate", 0) + counts.get("dead_letters_dedupe", 0)
    dead_search = counts.get("dead_letters_search", 0)
    dead_select = counts.get("dead_letters_select", 0)
    read = counts.get("problems_read", 0)
    full = {"read": read, "accepted": read - dead_ingest, "dead_letters_ingest": dead_ingest,
            "dead_letters_search": dead_search, "dead_letters_select": dead_select, "evaluated": evaluated,
            "generated_tokens": counts.get("generated_tokens", 0)}
    source = f"stored trees in {args.trees}" if args.trees else ", ".join(args.input)
    models = ", ".join(sorted({r["model_id"] for r in rows if r["model_id"]})) or None
    header = (f"# Evaluation {plan.run_id}\n\nProblems: {source} ({evaluated} evaluated). Policy: {models or 'n/a'}. "
              f"Scorer: {plan.scorer.model if plan.scorer else 'none'}.")
    report = write_report(rows, f"{args.output}/report", header, full)
    lines = [f"treemill evaluate: {args.output} (run {plan.run_id}), problems from {source}"]
    if args.trees:
        lines.append(f"  stored trees: evaluated {evaluated} + dead-lettered {dead_select}")
    else:
        ok = full["accepted"] == evaluated + dead_search + dead_select
        lines.append(f"  problems: read {read} = dead-lettered at ingest {dead_ingest} + at search {dead_search} "
                     f"+ at selection {dead_select} + evaluated {evaluated}{'' if ok else '  (MISMATCH)'}")
    for m in report["methods"]:
        if m["in_table"]:
            lines.append(f"  {m['method']:<16} {100 * m['accuracy']:5.1f}%  [{100 * m['ci_low']:.1f}, {100 * m['ci_high']:.1f}]"
                         f"  ({m['correct']}/{m['problems']})")
    lines.append(f"  report: {args.output}/report/report.md (95% Wilson score intervals); results: {args.output}/results/")
    return {"counts": full, "methods": report["methods"], "model_id": models, "text": "\n".join(lines)}


def run(argv=None) -> dict:
    """Run evaluate (or ``evaluate prm ...``); returns the summary dict (also printed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["prm"]:
        from pipelines.evaluate_prm import run as run_prm

        return run_prm(argv[1:])
    try:
        args, beam_args, plan, mapping = resolve_args(argv)
        log_file = log_path(args.output, "evaluate")
        for folder, prefix in _outputs(args, plan):
            clear_shards(folder, prefix)
        source = f"stored trees in {args.trees}" if args.trees else ", ".join(args.input)
        stage(f"evaluate: {', '.join(plan.requested)} on {source} -> {args.output}"
              + ("" if args.verbose else f" (library logs: {log_file})"))
        with quiet_console(log_file, args.verbose):
            with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
                if args.trees:
                    build_replay_pipeline(pipeline, args, plan)
                else:
                    build_pipeline(pipeline, args, plan, mapping)
            result = pipeline.result
            summary = summarize(args, plan, counters(result))
    except (UsageError, IngestError) as err:
        fail(str(err))
    write_manifest(args.output, {
        "run_id": plan.run_id, "pipeline": "evaluate",
        "config": json.dumps({**vars(args), "methods": [m.name for m in plan.methods]}, sort_keys=True, default=str),
        "search": ",".join(g.search for g, _ in plan.groups), "search_config_hash": None,
        "model_id": summary["model_id"], "model_digest": None, "verifier": None, "counts": json.dumps(summary["counts"], sort_keys=True),
    })
    print(summary["text"] + ("" if args.verbose else f"\n  library logs: {log_file}"))
    return summary


if __name__ == "__main__":
    run(sys.argv[1:])
