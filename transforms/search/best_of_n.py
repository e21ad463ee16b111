"""Best-of-N sampling: N whole solutions per problem, each stored as a chain of step nodes.

Every sample is one engine request with ``n`` samples; each is split into steps at blank lines
(``transforms.step_formats.text``) and hung under the root; a sample that states an answer is verified as a whole,
any other ends unverified (``transforms.search.endings``: empty, ``length`` or ``no_answer``).
Selection among the N (majority vote, scorer-weighted vote) is a label-time decision on the stored tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.search.base import Generate, SearchEnv, SearchGenerator, add_sample_chain, sampling, settle_solution
from transforms.protocols import GenerationRequest
from transforms.search.tree import Tree


@dataclass(frozen=True)
class BestOfNConfig:
    """n: samples per problem; temperature/top_p/max_tokens: sampling for each whole solution."""

    n: int = 4
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"best-of-n needs n >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")


@dataclass(frozen=True)
class GreedyConfig:
    """Greedy decoding: one sample at temperature 0."""

    max_tokens: int = 512
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.n != 1 or self.temperature != 0.0:
            raise ValueError("greedy decoding is n=1 at temperature 0; use best-of-n to sample")


def search(tree: Tree, config: BestOfNConfig | GreedyConfig, env: SearchEnv) -> SearchGenerator:
    request = GenerationRequest(env.prompt(tree, tree.root),
                                sampling(config, n=config.n, seed=env.seed_for(tree, tree.root)))
    [generation] = yield Generate((request,))
    tree.root.prompt_tokens = generation.prompt_tokens
    for sample in generation.samples:
        leaf = add_sample_chain(tree.root, sample, generation.prompt_tokens)
        settle_solution(tree, leaf, env, sample.finish_reason)
