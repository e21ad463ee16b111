"""Complete traces of a stored tree (root to a terminal step) and the SFT selection over them."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.labels.options import SftOptions, StepOptions
from transforms.labels.outcomes import code_failed, terminal_reward
from transforms.search.code_mode import path_text
from transforms.search.tree import Node, Tree
from transforms.step_formats.code import PRESETS as CODE_FORMATS
from transforms.step_formats.text import STEP_SEPARATOR


@dataclass(frozen=True)
class Trace:
    """One complete solution: the terminal node, its steps' rule Q values, and how it ended."""

    leaf: Node
    qs: tuple[float | None, ...]
    counted: bool  # counts as a completion (False: left out by the step options)
    correct: bool

    @property
    def steps(self) -> tuple[str, ...]:
        return self.leaf.steps()

    @property
    def text(self) -> str:
        """The trace as the policy writes it: steps joined by a blank line; in code mode each code
        step followed by the sandbox output the policy was shown (rStar-Math trains on traces with
        their outputs), in the format the steps were written in."""
        fmt = _code_format(self.leaf)
        if fmt is None:
            return STEP_SEPARATOR.join(self.steps)
        return path_text(fmt, self.leaf).rstrip()

    @property
    def scored(self) -> bool:
        return bool(self.qs) and all(q is not None for q in self.qs)

    @property
    def mean_q(self) -> float | None:
        return sum(self.qs) / len(self.qs) if self.scored else None

    @property
    def min_q(self) -> float | None:
        return min(self.qs) if self.scored else None

    @property
    def has_code_error(self) -> bool:
        return any(code_failed(n) for n in self.leaf.ancestors())


def traces(tree: Tree, q: dict[tuple[int, ...], float | None], rules: StepOptions = StepOptions()) -> list[Trace]:
    """Every terminal step's trace, in path order."""
    result = []
    for node in tree.nodes():
        if node.is_terminal and node.parent is not None:
            reward = terminal_reward(node, rules)
            counted = reward is not None and not (rules.code_errors == "skip" and any(map(code_failed, node.ancestors())))
            qs = tuple(q[n.path] for n in node.ancestors())
            result.append(Trace(node, qs, counted=counted, correct=counted and reward > 0))
    return result


def rank_key(trace: Trace, best_first: bool = True) -> tuple:
    """Sort key: mean Q, then min Q (best or worst first), then path for a deterministic order."""
    sign = -1 if best_first else 1
    return sign * trace.mean_q, sign * trace.min_q, trace.leaf.path


def select_sft(all_traces: list[Trace], options: SftOptions) -> list[Trace]:
    """Top-k correct traces of a problem by mean step Q, ties broken by min step Q.

    rStar-Math (arXiv 2501.04519), §3.3 / §4.1: from the trajectories that reach the correct
    answer, keep the top-2 by average Q-value for policy SFT; the released ``train/sample_sft_data.py``
    sorts by (average Q, min Q) as here. Traces through a step whose code failed are dropped when
    ``drop_code_errors`` (rStar-Math keeps only steps whose Python code runs), before the top-k cut;
    the released script drops texts containing "error" after it.
    """
    keep = [t for t in all_traces if t.correct and t.scored and not (options.drop_code_errors and t.has_code_error)]
    return sorted(keep, key=rank_key)[:options.top_k]


def _code_format(leaf: Node):
    """The code-step format of a code-mode trace (by its first code step's opening tag), or None."""
    for node in leaf.ancestors():
        if node.code is not None:
            return next((fmt for fmt in CODE_FORMATS.values() if fmt.code_open in node.step_text), None)
    return None
