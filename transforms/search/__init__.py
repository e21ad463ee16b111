"""Search algorithms, one per file, registered by name in ``SEARCHES``.

Each entry pairs a frozen config dataclass with a generator function ``search(tree, config, env)``
(see ``transforms.search.base``) and the config's named presets (a paper's settings, chosen with
``--search-param preset=NAME``; other ``--search-param`` keys override them);
``transforms.search.scheduler.Scheduler`` runs any of them over many problems with batched engine calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from transforms.search import best_of_n, mcts_alphamath, mcts_rstar, rest_mcts, sbs
from transforms.search.base import Preset, build_config, config_hash


@dataclass(frozen=True)
class SearchAlgorithm:
    name: str
    config_cls: type
    search: Callable[..., Any]
    summary: str = ""
    presets: dict[str, Preset] | None = None

    def make_config(self, params: dict[str, str] | None = None):
        return build_config(self.config_cls, params, self.presets)

    def requires_scorer(self, config: Any) -> bool:
        """True if this search, with ``config``, cannot run without a scorer."""
        return bool(getattr(config, "needs_scorer", False))  # e.g. rank_by=scorer, ppm, lambda < 1


SEARCHES: dict[str, SearchAlgorithm] = {
    "best-of-n": SearchAlgorithm("best-of-n", best_of_n.BestOfNConfig, best_of_n.search,
                                 summary="N sampled solutions per problem, split into steps"),
    "greedy": SearchAlgorithm("greedy", best_of_n.GreedyConfig, best_of_n.search,
                              summary="one greedy solution per problem"),
    "mcts-alphamath": SearchAlgorithm("mcts-alphamath", mcts_alphamath.AlphaMathConfig, mcts_alphamath.search,
                                      summary="AlphaMath MCTS: PUCT, value/reward leaf evaluation, mean backup",
                                      presets=mcts_alphamath.PRESETS),
    "mcts-rstar": SearchAlgorithm("mcts-rstar", mcts_rstar.RStarConfig, mcts_rstar.search,
                                  summary="rStar-Math MCTS: UCT, rollouts to a terminal, terminal-guided Q (+PPM)",
                                  presets=mcts_rstar.PRESETS),
    "sbs": SearchAlgorithm("sbs", sbs.StepBeamConfig, sbs.search,
                           summary="AlphaMath step-level beam search (B1 beams x B2 samples)", presets=sbs.PRESETS),
    "rest-mcts": SearchAlgorithm("rest-mcts", rest_mcts.RestMCTSConfig, rest_mcts.search,
                                 summary="ReST-MCTS*: UCB on values, greedy MC roll-out, value gate",
                                 presets=rest_mcts.PRESETS),
}


def get_search(name: str) -> SearchAlgorithm:
    try:
        return SEARCHES[name]
    except KeyError:
        raise ValueError(f"unknown search {name!r}; choose one of {', '.join(sorted(SEARCHES))}") from None


__all__ = ["SEARCHES", "Preset", "SearchAlgorithm", "get_search", "build_config", "config_hash"]
