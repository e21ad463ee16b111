"""Best-of-N sampling: N whole solutions per problem, each stored as a chain of step nodes.

Every sample is one engine request with ``n`` samples; each is split into steps at blank lines
(``transforms.step_formats.text``) and hung under the root; a sample that states an answer is verified as a whole,
any other ends unverified (``transforms.search.endings``: empty, ``length`` or ``no_answer``).
Selection among the N (majority vote, scorer-weighted vote) is a label-time decision on the stored tree.

In code mode (``--step-format rstar|alphamath``) a whole solution cannot be sampled at once: each code
step must run before the next is written. There the N samples are N independent step-by-step chains
(the root samples N first steps; every live chain then samples one next step at a time, each executed
in the sandbox, ``transforms.search.stepwise``) until a step ends it or ``max_depth`` is passed; greedy
is the one chain at temperature 0. No sibling is deduplicated: the N chains are independent samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.search.base import Generate, SearchEnv, SearchGenerator, add_sample_chain, sampling, settle_solution
from transforms.protocols import GenerationRequest
from transforms.search.stepwise import add_steps, step_request
from transforms.search.tree import Tree


@dataclass(frozen=True)
class BestOfNConfig:
    """n: samples per problem; temperature/top_p/max_tokens: sampling for each whole solution (code mode:
    for each step); max_depth: code mode only, steps after which a step that states no answer ends it."""

    n: int = 4
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    max_depth: int = 8

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"best-of-n needs n >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class GreedyConfig:
    """Greedy decoding: one sample at temperature 0 (max_depth: as best-of-n's, code mode only)."""

    max_tokens: int = 512
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_depth: int = 8

    def __post_init__(self) -> None:
        if self.n != 1 or self.temperature != 0.0:
            raise ValueError("greedy decoding is n=1 at temperature 0; use best-of-n to sample")


def search(tree: Tree, config: BestOfNConfig | GreedyConfig, env: SearchEnv) -> SearchGenerator:
    if env.step_format is not None:
        yield from _code_chains(tree, config, env)
        return
    request = GenerationRequest(env.prompt(tree, tree.root),
                                sampling(config, n=config.n, seed=env.seed_for(tree, tree.root)))
    [generation] = yield Generate((request,))
    tree.root.prompt_tokens = generation.prompt_tokens
    for sample in generation.samples:
        leaf = add_sample_chain(tree.root, sample, generation.prompt_tokens)
        settle_solution(tree, leaf, env, sample.finish_reason)


def _code_chains(tree: Tree, config: BestOfNConfig | GreedyConfig, env: SearchEnv) -> SearchGenerator:
    """Code mode: N independent chains grown one executed step at a time, all live chains batched."""
    live = [tree.root]
    while live and env.budget_left():
        requests = tuple(step_request(tree, node, config, env, n=config.n if node is tree.root else 1) for node in live)
        generations = yield Generate(requests)
        live = [child for node, generation in zip(live, generations)
                for child in add_steps(tree, node, generation, env, max_depth=config.max_depth, dedup=False)
                if not child.is_terminal]
