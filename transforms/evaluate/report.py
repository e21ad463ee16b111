"""The report folder of an evaluate run: a markdown table in the layout of AlphaMath's results
table (method, accuracy, seconds per problem, generated tokens per problem), every accuracy with
its 95% Wilson score interval, the accuracy-vs-N figure of Let's Verify Step by Step (majority vote
vs ORM vs PRM best-of-N), and the same numbers as JSON.

    report.md  report.json  accuracy_vs_n.png
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from transforms.evaluate.stats import wilson_interval

CI_NAME = "95% Wilson score interval"


@dataclass(frozen=True)
class MethodSummary:
    method: str
    problems: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    seconds_per_problem: float | None
    tokens_per_problem: float | None
    in_table: bool


def summarize(rows: Iterable[dict]) -> list[MethodSummary]:
    """One summary per method, in first-seen order."""
    by_method: dict[str, list[dict]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    summaries = []
    for method, members in by_method.items():
        n, correct = len(members), sum(1 for r in members if r["correct"])
        low, high = wilson_interval(correct, n)
        seconds = [r["seconds"] for r in members]
        tokens = [r["generated_tokens"] for r in members]
        summaries.append(MethodSummary(
            method, n, correct, correct / n, low, high,
            sum(seconds) / n if None not in seconds else None,
            sum(tokens) / n if None not in tokens else None,
            any(r["in_table"] for r in members)))
    return summaries


def markdown_table(summaries: list[MethodSummary]) -> str:
    lines = ["| Method | Accuracy (%) | 95% CI (%) | Problems | Seconds / problem | Generated tokens / problem |",
             "|---|---:|---:|---:|---:|---:|"]
    for s in summaries:
        if not s.in_table:
            continue
        seconds = f"{s.seconds_per_problem:.2f}" if s.seconds_per_problem is not None else "n/a"
        tokens = f"{s.tokens_per_problem:.0f}" if s.tokens_per_problem is not None else "n/a"
        lines.append(f"| {s.method} | {100 * s.accuracy:.1f} | {100 * s.ci_low:.1f} – {100 * s.ci_high:.1f} "
                     f"| {s.correct}/{s.problems} | {seconds} | {tokens} |")
    return "\n".join(lines)


_AT_K = re.compile(r"^(.+)@(\d+)$")
CURVE_FAMILIES = {"maj": "majority vote", "orm": "ORM best-of-N", "prm-min": "PRM best-of-N (min)",
                  "prm-last": "PRM best-of-N (last)", "prm-prod": "PRM best-of-N (product)",
                  "vote-orm": "ORM-weighted vote", "vote-prm-min": "PRM-weighted vote (min)",
                  "vote-prm-last": "PRM-weighted vote (last)", "vote-prm-prod": "PRM-weighted vote (product)",
                  "pass": "pass@N (oracle)"}


def curves(summaries: list[MethodSummary]) -> dict[str, list[MethodSummary]]:
    """family -> its @K summaries in K order (families with at least two points)."""
    found: dict[str, list[tuple[int, MethodSummary]]] = {}
    for s in summaries:
        if (m := _AT_K.match(s.method)) and m.group(1) in CURVE_FAMILIES:
            found.setdefault(m.group(1), []).append((int(m.group(2)), s))
    return {family: [s for _, s in sorted(points, key=lambda p: p[0])] for family, points in found.items() if len(points) > 1}


def accuracy_vs_n_plot(summaries: list[MethodSummary], path: Path) -> Path | None:
    """% solved against N (log2 axis), one line per family with its 95% interval as a band."""
    lines = curves(summaries)
    if not lines:
        return None
    figure = Figure(figsize=(6.4, 4.4))
    axis = figure.subplots()
    for family, points in lines.items():
        ks = [int(_AT_K.match(s.method).group(2)) for s in points]
        style = "--" if family == "pass" else "-"
        axis.plot(ks, [100 * s.accuracy for s in points], style, marker="o", label=CURVE_FAMILIES[family])
        axis.fill_between(ks, [100 * s.ci_low for s in points], [100 * s.ci_high for s in points], alpha=0.12)
    axis.set_xscale("log", base=2)
    problems = max(s.problems for s in summaries)
    axis.set(xlabel="N = solutions per problem", ylabel="% problems solved",
             title=f"Best-of-N ({problems} problems; bands: {CI_NAME})")
    axis.legend(fontsize=8)
    FigureCanvasAgg(figure)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def write_report(rows: list[dict], folder: str | Path, header: str = "", counts: dict | None = None) -> dict:
    """Write report.md, report.json and accuracy_vs_n.png under ``folder``; returns the JSON content."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summaries = summarize(rows)
    plot = accuracy_vs_n_plot(summaries, folder / "accuracy_vs_n.png")
    text = [header, "", markdown_table(summaries), "",
            f"Accuracy: share of problems whose selected answer the verifier accepts (no answer counts as wrong); "
            f"CI: {CI_NAME}. Seconds: wall time per problem, batched searches split evenly over a batch."]
    if plot:
        text += ["", f"![accuracy vs N]({plot.name})"]
    (folder / "report.md").write_text("\n".join(text).strip() + "\n")
    content = {"interval": CI_NAME, "counts": counts or {}, "methods": [asdict(s) for s in summaries],
               "plot": plot.name if plot else None}
    (folder / "report.json").write_text(json.dumps(content, indent=2))
    return content
