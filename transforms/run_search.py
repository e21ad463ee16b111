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

from transforms.ingest import DEAD, dead_letter
from transforms.policy import PolicySpec, shared_policy
from transforms.progress import Progress
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
    step_format: str = "text"  # text, or a code-step format from transforms.code_steps.PRESETS
    sandbox_timeout_s: float = 10.0
    # continuous: each tree's requests go to the engine as they arise (transforms.search.continuous);
    # lockstep: the reference round-by-round Scheduler. Both grow the same trees.
    scheduler: str = "continuous"

    def __post_init__(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {self.scheduler!r}; choose one of {', '.join(SCHEDULERS)}")

    def code_format(self):
        """The code-step format, or None in plain-text mode."""
        from transforms.code_steps import PRESETS

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
    """list of problem rows -> (problem_id, [node rows]) per problem, or dead letters."""

    def __init__(self, settings: SearchSettings):
        self.settings = settings
        self.searched = Metrics.counter("treemill", "problems_searched")
        self.nodes = Metrics.counter("treemill", "nodes")
        self.tokens = Metrics.counter("treemill", "generated_tokens")
        self.dead = Metrics.counter("treemill", "dead_letters_search")

    def setup(self):
        self.policy = shared_policy(self.settings.policy)
        self.scorer = shared_scorer(self.settings.scorer) if self.settings.scorer else None
        self.verifier = make_verifier(self.settings.verify_options)
        self.code_format = self.settings.code_format()
        self.executor = self._sandbox() if self.code_format else None
        self.algorithm = self.settings.algorithm()
        self.config = self.settings.config()
        self.config_digest = self.settings.config_hash()
        self.progress = Progress(self.settings.progress_total) if self.settings.progress_total else None

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

    def teardown(self):
        for name in ("verifier", "executor"):
            close = getattr(getattr(self, name, None), "close", None)
            if close:
                close()

    def process(self, problems: list[dict]):
        s = self.settings
        trees = [Tree(p["problem_id"], p["question"], p["gold_answer"]) for p in problems]
        scheduler = make_scheduler(s.scheduler, self.policy, scorer=self.scorer)
        outcomes = scheduler.run(trees, self.algorithm.search, self.config, self.make_env)
        verifier_tag = f"{self.verifier.name}/{self.verifier.version}"
        node_count = 0
        for problem, outcome in zip(problems, outcomes):
            if outcome.error:
                self.dead.inc()
                yield beam.pvalue.TaggedOutput(DEAD, dead_letter("search", outcome.error, problem["problem_id"], problem))
                continue
            rows = outcome.tree.to_rows(run_id=s.run_id, model_id=self.policy.model_id, search=s.search,
                                        search_config_hash=self.config_digest, verifier=verifier_tag)
            node_count += len(rows)
            self.searched.inc()
            yield problem["problem_id"], rows
        self.nodes.inc(node_count)
        self.tokens.inc(scheduler.stats.generated_tokens)
        if self.progress:
            self.progress.update(len(problems), node_count, scheduler.stats.generated_tokens)
