"""Step-level beam search as in AlphaMath (arXiv 2405.03553, "Step-level Beam Search"), ``sbs``.

Keep B1 beams (``beam_width``); each round expands every live beam with B2 sampled steps (``n``),
all beams of all problems in one policy call, and ranks the pooled candidates by the value model
V_phi (a scorer call), keeping the best B1. As in Super_MARIO's ``SBSREACT.select_next_step``, a kept
candidate that is terminal is a finished solution: it leaves the beam and the beam narrows by one
(B1 - 1 beams go on). The search stops when no beam is left, every solution being terminal or cut
after ``max_depth`` steps (a deeper step that states no answer ends unverified, ``too_many_steps``).

Without a scorer the candidates are ranked by the policy's length-normalised log-probability of
the step (mean token log-probability) — the paper ranks by the value model only; this fallback keeps
SBS usable before a value model exists (``rank_by=logprob`` forces it; ``rank_by=scorer`` requires a
scorer).

Stored tree: every candidate is a node whose ``value_estimate`` holds the score it was ranked by
(V_phi with a scorer, else the mean token log-probability). Beam search keeps no visit statistics:
``visits``, ``value_sum`` and ``q_value`` stay 0 / 0 / null, so no ranking score lands in the column
that other searches fill with terminal-reward estimates (schemas/nodes.py). The beam kept a
non-terminal candidate iff it has children; its finished solutions are the terminal candidates
of each round (depth) that rank within the beam width left by value_estimate. Ties keep the earlier
candidate (stable sort).
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.search.base import Generate, Preset, Score, SearchEnv, SearchGenerator
from transforms.search.stepwise import add_steps, check_positive, mean_logprob, score_requests, step_request
from transforms.search.tree import Node, Tree

RANK_BY = ("auto", "scorer", "logprob")


@dataclass(frozen=True)
class StepBeamConfig:
    """beam_width: B1 beams kept; n: B2 steps sampled per beam; max_depth: steps after which a step
    that states no answer ends its branch; rank_by: auto (scorer if configured, else log-probability), scorer or logprob;
    temperature/top_p/max_tokens: one step's sampling; dedup: drop duplicate sibling steps."""

    beam_width: int = 1
    n: int = 5
    max_depth: int = 8
    rank_by: str = "auto"
    temperature: float = 0.6
    top_p: float = 1.0
    max_tokens: int = 256
    dedup: bool = True

    def __post_init__(self) -> None:
        check_positive(beam_width=self.beam_width, n=self.n, max_depth=self.max_depth, max_tokens=self.max_tokens)
        if self.rank_by not in RANK_BY:
            raise ValueError(f"rank_by must be one of {', '.join(RANK_BY)}, got {self.rank_by!r}")

    @property
    def needs_scorer(self) -> bool:
        return self.rank_by == "scorer"


PRESETS = {
    "alphamath-1x5": Preset.of(
        "AlphaMath SBS with B1 = 1, B2 = 5 (temperature 0.6 and duplicate removal from sbs_sft.yaml); the "
        "paper ranks by the value model: give --scorer-model, else the log-probability fallback is used.",
        beam_width=1, n=5, temperature=0.6, max_depth=8),
    "alphamath-3x5": Preset.of(
        "AlphaMath SBS with B1 = 3, B2 = 5 (as alphamath-1x5 otherwise).",
        beam_width=3, n=5, temperature=0.6, max_depth=8),
}


def search(tree: Tree, config: StepBeamConfig, env: SearchEnv) -> SearchGenerator:
    use_scorer = config.rank_by == "scorer" or (config.rank_by == "auto" and env.has_scorer)
    if use_scorer and not env.has_scorer:
        raise RuntimeError("sbs with rank_by=scorer needs a scorer (--scorer-model)")
    beams, width = [tree.root], config.beam_width
    while beams and env.budget_left():
        requests = tuple(step_request(tree, beam, config, env, n=config.n) for beam in beams)
        generations = yield Generate(requests)
        candidates = [child for beam, generation in zip(beams, generations)
                      for child in add_steps(tree, beam, generation, env, max_depth=config.max_depth,
                                             dedup=config.dedup)]
        scores = (yield from _scorer_values(tree, candidates, env)) if use_scorer else [mean_logprob(c) for c in candidates]
        for node, score in zip(candidates, scores):
            node.value_estimate = score
        beams, width = _keep_best(candidates, scores, width)


def _scorer_values(tree: Tree, nodes: list[Node], env: SearchEnv) -> SearchGenerator:
    if not nodes:
        return []
    return [float(v) for v in (yield Score(score_requests(tree, nodes, env)))]


def _keep_best(candidates: list[Node], scores: list[float], width: int) -> tuple[list[Node], int]:
    """The top ``width`` candidates; terminal ones finish (and narrow the beam), the rest go on."""
    order = sorted(range(len(candidates)), key=lambda i: -scores[i])[:width]
    beams = []
    for i in order:
        node = candidates[i]
        if node.is_terminal:
            width -= 1
        else:
            beams.append(node)
    return beams, width
