"""The Beam step that runs a search over a batch of problems (where the search runs, not what it is).

The engine is acquired in ``setup()`` through ``transforms.policy.shared_policy`` (one per process,
reused across bundles), and the scorer, when the settings name one, through
``transforms.scorer.shared_scorer``; the DoFn itself stores only picklable settings. A problem whose search fails
goes to the ``dead`` output with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from transforms.io.ingest import DEAD, dead_letter
from transforms.policy import PolicySpec, shared_policy
from transforms.runner.metrics import TimedExecutor, TimedVerifier
from transforms.runner.progress import Progress
from transforms.io.request_cache import KINDS as CACHE_KINDS
from transforms.io.request_cache import (CacheStats, CachedExecutor, CachedPolicy, CachedScorer, RequestStore,
                                      executor_digest, policy_digest, scorer_digest)
from transforms.scorer import ScorerSpec, shared_scorer
from transforms.search import config_hash, get_search
from transforms.search.base import DEFAULT_SYSTEM_PROMPT, SearchEnv
from transforms.search.continuous import SCHEDULERS, make_scheduler
from transforms.search.tree import Tree


@dataclass(frozen=True)
class SearchSettings:
    """Everything the search step needs, all picklable."""

    run_id: str
    policy: PolicySpec
    search: str = "best-of-n"
    search_params: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_tokens_per_problem: int | None = None
    progress_total: int | None = None
    verify_options: tuple[tuple[str, str], ...] = field(default=())
    scorer: ScorerSpec | None = None
    step_format: str = "text"  # text, or a code-step format from transforms.step_formats.code.PRESETS
    sandbox_timeout_s: float = 10.0
    # continuous: each tree's requests go to the engine as they arise (transforms.search.continuous);
    # lockstep: the reference round-by-round Scheduler. Both grow the same trees.
    scheduler: str = "continuous"
    cache_path: str | None = None  # SQLite request cache (transforms.io.request_cache); None: no cache

    def __post_init__(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}; choose one of {', '.join(SCHEDULERS)}")

    def code_format(self):
        """The code-step format, or None in plain-text mode."""
        from transforms.step_formats.code import PRESETS

        if self.step_format == "text":
            return None
        if self.step_format not in PRESETS:
            raise ValueError(f"unknown step format {self.step_format!r}; choose text or one of {', '.join(sorted(PRESETS))}")
        return PRESETS[self.step_format]

    def algorithm(self):
        return get_search(self.search)

    def config(self):
        return self.algorithm().make_config(dict(self.search_params))

    def config_hash(self) -> str:
        return config_hash(self.search, self.config())


def make_verifier(options: tuple[tuple[str, str], ...] = ()):
    """The project's verifier (``transforms.verify.MathVerifier``) with options from ``key=value`` pairs."""
    from transforms.search.base import build_config
    from transforms.verify import MathVerifier, VerifyOptions

    return MathVerifier(build_config(VerifyOptions, dict(options)))


class SearchDoFn(beam.DoFn):
    """problem row -> (problem_id, [node rows]) per problem, or a dead letter, as each tree finishes.

    Up to ``window`` problems are searched together (``generate --batch-size``). Trees are handed on
    as they finish, not in input order, and the bundle's last ones in ``finish_bundle``: every tree
    depends only on its own problem, so the order changes no row.
    """

    def __init__(self, settings: SearchSettings, window: int = 32):
        if window < 1:
            raise ValueError(f"window must be at least 1 problem, got {window}")
        self.settings, self.window = settings, window
        self.searched = Metrics.counter("treemill", "problems_searched")
        self.nodes = Metrics.counter("treemill", "nodes")
        self.tokens = Metrics.counter("treemill", "generated_tokens")
        self.dead = Metrics.counter("treemill", "dead_letters_search")
        self.tokens_per_problem = Metrics.distribution("treemill", "tokens_per_problem")
        self.nodes_per_tree = Metrics.distribution("treemill", "nodes_per_tree")
        self.cache_counters = {(kind, outcome): Metrics.counter("treemill", f"cache_{kind}_{outcome}")
                               for kind in CACHE_KINDS for outcome in ("hits", "misses")}

    def setup(self):
        # Cheap settings here; the engine, scorer, verifier pool and sandbox start with the first
        # batch (_start_backends): a resumed run whose problems are all finished never loads a model.
        self.policy = None
        self.cache = None
        self._stream = None  # continuous: the TreeStream of the current bundle, opened with its first problem
        self.algorithm = self.settings.algorithm()
        self.config = self.settings.config()
        self.config_digest = self.settings.config_hash()
        self.progress = Progress(self.settings.progress_total) if self.settings.progress_total else None

    def _start_backends(self):
        self.policy = shared_policy(self.settings.policy)
        self.scorer = shared_scorer(self.settings.scorer) if self.settings.scorer else None
        self.verifier = TimedVerifier(make_verifier(self.settings.verify_options))
        self.code_format = self.settings.code_format()
        self.executor = TimedExecutor(self._sandbox()) if self.code_format else None
        if self.settings.cache_path:
            self._use_cache(RequestStore(self.settings.cache_path))

    def _sandbox(self):
        from transforms.sandbox import SandboxExecutor, SandboxLimits

        limits = SandboxLimits(timeout_s=self.settings.sandbox_timeout_s, cpu_s=self.settings.sandbox_timeout_s)
        return SandboxExecutor(limits)

    def make_env(self) -> SearchEnv:
        """A fresh per-tree environment on this worker's policy, verifier and sandbox."""
        s = self.settings
        # Code steps come with their own instructions (the format's system prompt).
        system = self.code_format.instructions if self.code_format else s.system_prompt
        return SearchEnv(chat_prompt=lambda q: self.policy.chat_prompt(q, system),
                         step_format=self.code_format, executor=self.executor,
                         verifier=self.verifier, seed=s.seed, max_tokens_per_problem=s.max_tokens_per_problem,
                         has_scorer=self.scorer is not None)
    def _use_cache(self, store: RequestStore) -> None:
        """Route policy, scorer and sandbox calls through the on-disk request cache."""
        self.cache, self._reported = store, CacheStats()
        self.policy = CachedPolicy(self.policy, store, policy_digest(self.policy, self.settings.policy))
        if self.scorer is not None:
            self.scorer = CachedScorer(self.scorer, store, scorer_digest(self.scorer, self.settings.scorer))
        if self.executor is not None:
            from transforms.sandbox.cache import is_cacheable

            self.executor = CachedExecutor(self.executor, store, executor_digest(self.executor.limits), is_cacheable)

    def _report_cache(self) -> None:
        """Add this batch's hits and misses to the pipeline's counters."""
        if self.cache is None:
            return
        for kind in CACHE_KINDS:
            for outcome, now, before in (("hits", self.cache.stats.hits, self._reported.hits),
                                         ("misses", self.cache.stats.misses, self._reported.misses)):
                self.cache_counters[(kind, outcome)].inc(now[kind] - before[kind])
                before[kind] = now[kind]

    def teardown(self):
        if getattr(self, "cache", None) is not None:
            self.cache.close()
        for name in ("verifier", "executor"):
            close = getattr(getattr(self, name, None), "close", None)
            if close:
                close()

    def start_bundle(self):
        if self._stream is not None:  # a bundle that failed part-way: its requests leave the engine
            self._stream.close()
        self._stream = None
        self._scheduler = None
        self._problems: dict[int, dict] = {}  # id(tree) -> its problem row, until the tree is handed on
        self._batch: list[dict] = []  # lock-step: problems waiting for a full batch
        self._tokens_reported = 0

    def process(self, problem: dict):
        """Admit one problem; hand on every tree that finished meanwhile.

        continuous: the problem's tree joins the running search as soon as fewer than ``window`` trees
        are open, so the engine stays as full at the end of a bundle as in its middle; lock-step: the
        problems run in batches of ``window``, one ``Scheduler.run`` each.
        """
        if self.policy is None:
            self._start_backends()
        if self.settings.scheduler == "lockstep":
            self._batch.append(problem)
            if len(self._batch) >= self.window:
                yield from self._run_batch()
            return
        tree = Tree(problem["problem_id"], problem["question"], problem["gold_answer"])
        self._problems[id(tree)] = problem
        yield from self._emit(self._open_stream().admit(tree, self.window))

    def finish_bundle(self):
        """The bundle's last trees: every problem admitted is searched before the bundle ends."""
        if self._batch:
            outputs = self._run_batch()
        elif self._stream is not None:
            outputs = self._emit(self._stream.drain())
            self._stream.close()
            self._stream = None
        else:
            return
        for output in outputs:
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(output.tag, GlobalWindows.windowed_value(output.value))
            else:
                yield GlobalWindows.windowed_value(output)

    def _open_stream(self):
        if self._stream is None:
            s = self.settings
            self._scheduler = make_scheduler(s.scheduler, self.policy, scorer=self.scorer)
            self._tokens_reported = 0
            self._stream = self._scheduler.open(self.algorithm.search, self.config, self.make_env)
        return self._stream

    def _run_batch(self):
        problems, self._batch = self._batch, []
        trees = [Tree(p["problem_id"], p["question"], p["gold_answer"]) for p in problems]
        self._problems.update((id(t), p) for t, p in zip(trees, problems))
        self._scheduler = make_scheduler(self.settings.scheduler, self.policy, scorer=self.scorer)
        self._tokens_reported = 0
        return self._emit(self._scheduler.run(trees, self.algorithm.search, self.config, self.make_env))

    def _emit(self, outcomes):
        """(problem_id, node rows) per searched tree, or a dead letter; counters and progress."""
        s = self.settings
        verifier_tag = f"{self.verifier.name}/{self.verifier.version}"
        node_count = 0
        for outcome in outcomes:
            problem = self._problems.pop(id(outcome.tree))
            if outcome.error:
                self.dead.inc()
                yield beam.pvalue.TaggedOutput(DEAD, dead_letter("search", outcome.error, problem["problem_id"], problem))
                continue
            rows = outcome.tree.to_rows(run_id=s.run_id, model_id=self.policy.model_id, search=s.search,
                                        search_config_hash=self.config_digest, verifier=verifier_tag)
            node_count += len(rows)
            self.searched.inc()
            self.nodes_per_tree.update(len(rows))
            self.tokens_per_problem.update(outcome.env.generated_tokens)
            yield problem["problem_id"], rows
        if not outcomes:
            return
        # Engine tokens, failed trees' included, as the scheduler counted them since the last report.
        tokens = self._scheduler.stats.generated_tokens - self._tokens_reported
        self._tokens_reported += tokens
        self.nodes.inc(node_count)
        self.tokens.inc(tokens)
        self._report_cache()
        if self.progress:
            self.progress.update(len(outcomes), node_count, tokens)
