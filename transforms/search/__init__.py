"""Search algorithms, one per file, registered by name in ``SEARCHES``.

Each entry pairs a frozen config dataclass with a generator function ``search(tree, config, env)``
(see ``transforms.search.base``); ``transforms.search.scheduler.Scheduler`` runs any of them over
many problems with batched engine calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from transforms.search import best_of_n
from transforms.search.base import build_config, config_hash


@dataclass(frozen=True)
class SearchAlgorithm:
    name: str
    config_cls: type
    search: Callable[..., Any]
    needs_scorer: bool = False
    summary: str = ""

    def make_config(self, params: dict[str, str] | None = None):
        return build_config(self.config_cls, params)


SEARCHES: dict[str, SearchAlgorithm] = {
    "best-of-n": SearchAlgorithm("best-of-n", best_of_n.BestOfNConfig, best_of_n.search,
                                 summary="N sampled solutions per problem, split into steps"),
    "greedy": SearchAlgorithm("greedy", best_of_n.GreedyConfig, best_of_n.search,
                              summary="one greedy solution per problem"),
}


def get_search(name: str) -> SearchAlgorithm:
    try:
        return SEARCHES[name]
    except KeyError:
        raise ValueError(f"unknown search {name!r}; choose one of {', '.join(sorted(SEARCHES))}") from None


__all__ = ["SEARCHES", "SearchAlgorithm", "get_search", "build_config", "config_hash"]
