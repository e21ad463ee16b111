"""The evaluation methods of ``pipelines.evaluate``, by name, and the searches they need.

    greedy                    one greedy solution (search ``greedy``)
    maj@K                     majority vote over the first K sampled solutions (self-consistency)
    pass@K                    oracle: is any of the first K solutions right (an upper bound, not a method)
    orm@K                     best-of-K by the scorer's score of the whole solution (outcome reward)
    prm-min@K / prm-last@K / prm-prod@K
                              best-of-K by step scores aggregated with min, last or product (Let's
                              Verify Step by Step uses the product; Math-Shepherd the min)
    vote-orm@K, vote-prm-min@K, ...
                              scorer-weighted majority vote (answers' summed scores)
    sbs-B1xB2 (or sbs)        AlphaMath step-level beam search, B1 beams x B2 samples (search ``sbs``)
    mcts (or mcts@N)          AlphaMath MCTS with N simulations, value model only (lambda = 0)

All ``@K`` methods share one best-of-n search with N = the largest K, as in Let's Verify's
best-of-N curves: "the first K" are the first K solutions with an extracted answer, in sample
order (``transforms.search.vote.solutions``).

No method lets the search see the gold answer: searches that back up the verifier's reward
(``mcts-rstar``, ``rest-mcts``, ``mcts-alphamath`` with lambda > 0) are training-data generators,
not test-time methods, so ``mcts`` fixes ``reward_weight=0`` and needs a value model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCORINGS = ("orm", "prm-min", "prm-last", "prm-prod")
SAMPLING = "best-of-n"

_AT_K = re.compile(r"^(maj|pass|vote-orm|vote-prm-min|vote-prm-last|vote-prm-prod|orm|prm-min|prm-last|prm-prod)@(\d+)$")
_SBS = re.compile(r"^sbs(?:-(\d+)x(\d+))?$")
_MCTS = re.compile(r"^mcts(?:@(\d+))?$")


@dataclass(frozen=True)
class Method:
    """name: as written; selector: first, majority, pass, best, vote, beam or best_q; scoring: how
    a solution is scored for best/vote (one of SCORINGS); k: solutions considered; search and
    params: the search it needs (params beyond the user's --search-param)."""

    name: str
    selector: str
    search: str
    scoring: str | None = None
    k: int | None = None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def needs_scorer(self) -> bool:
        return self.scoring is not None or self.search == "mcts-alphamath"

    @property
    def shares_samples(self) -> bool:
        return self.search == SAMPLING


def parse_method(text: str) -> Method:
    """A Method from its name (see the module docstring); ValueError naming the known forms."""
    name = text.strip().lower()
    if name == "greedy":
        return Method(name, "first", "greedy")
    if m := _AT_K.match(name):
        kind, k = m.group(1), int(m.group(2))
        if k < 1:
            raise ValueError(f"method {text!r}: K must be >= 1")
        if kind in ("maj", "pass"):
            return Method(name, {"maj": "majority", "pass": "pass"}[kind], SAMPLING, k=k)
        if kind.startswith("vote-"):
            return Method(name, "vote", SAMPLING, scoring=kind[len("vote-"):], k=k)
        return Method(name, "best", SAMPLING, scoring=kind, k=k)
    if m := _SBS.match(name):
        params = (("beam_width", m.group(1)), ("n", m.group(2))) if m.group(1) else ()
        if m.group(1) and (int(m.group(1)) < 1 or int(m.group(2)) < 1):
            raise ValueError(f"method {text!r}: beam sizes must be >= 1")
        return Method(name, "beam", "sbs", params=params)
    if m := _MCTS.match(name):
        params = (("reward_weight", "0"),) + ((("iterations", m.group(1)),) if m.group(1) else ())
        return Method(name, "best_q", "mcts-alphamath", params=params)
    raise ValueError(f"unknown method {text!r}; use greedy, maj@K, pass@K, orm@K, prm-min@K, prm-last@K, "
                     f"prm-prod@K, vote-orm@K, vote-prm-min@K (...), sbs, sbs-B1xB2, mcts or mcts@N")


def parse_methods(text: str) -> tuple[Method, ...]:
    """Comma-separated method names, in order, without repeats."""
    names = [part for part in (p.strip() for p in text.split(",")) if part]
    if not names:
        raise ValueError("give at least one method")
    methods, seen = [], set()
    for name in names:
        method = parse_method(name)
        if method.name not in seen:
            seen.add(method.name)
            methods.append(method)
    return tuple(methods)


@dataclass(frozen=True)
class SearchGroup:
    """One search run per problem, shared by the methods that read its tree."""

    label: str
    search: str
    params: tuple[tuple[str, str], ...]
    methods: tuple[Method, ...]


def plan_searches(methods: tuple[Method, ...]) -> tuple[SearchGroup, ...]:
    """Group methods by the search they need; all @K methods share one best-of-n with n = max K."""
    groups: dict[tuple, list[Method]] = {}
    largest_k = max((m.k for m in methods if m.shares_samples), default=0)
    for method in methods:
        params = (("n", str(largest_k)),) if method.shares_samples else method.params
        groups.setdefault((method.search, params), []).append(method)
    return tuple(SearchGroup(_label(search, params), search, params, tuple(members))
                 for (search, params), members in groups.items())


def _label(search: str, params: tuple[tuple[str, str], ...]) -> str:
    return search + "".join(f"_{k}={v}" for k, v in params)


def curve_ks(n: int) -> list[int]:
    """K values for accuracy-vs-N curves: powers of two up to n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n] if n >= 1 else []
