"""PNG plots of a labelled run, drawn with matplotlib's Agg canvas (no display, no pyplot state).

    q_values.png            Q of intermediate vs final steps, split by correctness (as AlphaMath's README)
    accuracy_vs_budget.png  pass@k and majority@k for k = 1..N from best-of-N leaves (first k in sample order)
    pairs_per_problem.png   how many problems got how many pairs, per pair kind
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from queries import load_sql
from schemas import PAIR_KINDS
from transforms.labels.budget import SAMPLE_ORDER_NOTE, budget_curve
from transforms.search.tree import parse_path

GREEN, RED = "#2e8b57", "#c0392b"


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)  # attaches the Agg canvas: savefig needs no GUI backend
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


Q_BINS = 20  # over [-1, 1]
# Binned in SQL so a run with millions of steps never loads them all. For a final step 'correct'
# is its verdict; for an intermediate step, whether a correct answer is reachable below it.
_Q_HISTOGRAM = f"""
SELECT is_terminal,
       CASE WHEN is_terminal THEN coalesce(verdict, false) ELSE correct_completions > 0 END AS correct,
       -- round first: (-0.9 + 1) / 2 * 20 is 0.9999999999999998 in floating point, not 1
       least(greatest(floor(round((q + 1) / 2 * {Q_BINS}, 9)), 0), {Q_BINS} - 1)::INT AS bin,
       count(*) AS steps
FROM steps WHERE q IS NOT NULL
GROUP BY ALL
"""


def q_values_plot(histogram: dict[tuple[bool, bool], list[int]], path: Path) -> Path:
    """histogram: (is_terminal, correct) -> step counts in Q_BINS equal bins over [-1, 1]."""
    figure = Figure(figsize=(9, 3.6))
    edges = [-1 + 2 * i / Q_BINS for i in range(Q_BINS + 1)]
    for axis, terminal, title in zip(figure.subplots(1, 2), (False, True), ("intermediate steps", "final steps")):
        for correct, color, label in ((True, GREEN, "correct"), (False, RED, "incorrect")):
            counts = histogram.get((terminal, correct), [0] * Q_BINS)
            axis.stairs(counts, edges, fill=True, alpha=0.6, color=color, label=f"{label} ({sum(counts)})")
        axis.set(title=title, xlabel="Q", ylabel="steps", xlim=(-1.05, 1.05))
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
    return _save(figure, path)


def budget_plot(curve: list[tuple[int, float, float]], path: Path) -> Path:
    figure = Figure(figsize=(5, 3.6))
    axis = figure.subplots()
    ks = [k for k, _, _ in curve]
    axis.plot(ks, [p for _, p, _ in curve], marker="o", label="pass@k")
    axis.plot(ks, [m for _, _, m in curve], marker="s", label="majority@k")
    axis.set(title=f"accuracy vs search budget\n(pass@k and majority@k {SAMPLE_ORDER_NOTE})",
             xlabel="k (leaves per problem, in sample order)", ylabel="accuracy", ylim=(-0.02, 1.02))
    axis.set_xticks(ks)
    axis.legend()
    return _save(figure, path)


def pairs_plot(per_problem: dict[str, list[int]], path: Path) -> Path:
    """per_problem: pair kind -> pairs of each problem."""
    figure = Figure(figsize=(5, 3.6))
    axis = figure.subplots()
    top = max((max(v, default=0) for v in per_problem.values()), default=0)
    axis.hist(list(per_problem.values()), bins=range(0, top + 2), label=list(per_problem), align="left")
    axis.set(title="pairs per problem", xlabel="pairs", ylabel="problems")
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.legend()
    return _save(figure, path)


def leaves_by_problem(con: duckdb.DuckDBPyConnection) -> list[list[tuple[str | None, bool]]]:
    """Each problem's terminal steps in sample order as (extracted answer, correct); needs ``nodes``."""
    grouped: dict[str, list] = {}
    rows = con.sql("SELECT problem_id, path, extracted_answer, coalesce(verdict, false) FROM nodes WHERE is_terminal").fetchall()
    for problem_id, path, answer, correct in sorted(rows, key=lambda r: (r[0], parse_path(r[1]))):
        grouped.setdefault(problem_id, []).append((answer, correct))
    return list(grouped.values())


def write_plots(con: duckdb.DuckDBPyConnection, folder: Path) -> list[Path]:
    """All three plots from views nodes, steps and pairs; returns the PNG paths."""
    folder.mkdir(parents=True, exist_ok=True)
    histogram: dict[tuple[bool, bool], list[int]] = {}
    for terminal, correct, bin_, steps in con.sql(_Q_HISTOGRAM).fetchall():
        histogram.setdefault((terminal, correct), [0] * Q_BINS)[bin_] = steps
    pairs = con.sql(load_sql("pairs_per_problem"))  # the stored query, so plot and query agree
    counts = pairs.fetchall()
    per_kind = {kind: [row[pairs.columns.index(kind)] for row in counts] for kind in PAIR_KINDS}
    return [q_values_plot(histogram, folder / "q_values.png"),
            budget_plot(budget_curve(leaves_by_problem(con)), folder / "accuracy_vs_budget.png"),
            pairs_plot(per_kind, folder / "pairs_per_problem.png")]
