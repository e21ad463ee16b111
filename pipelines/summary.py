"""The end-of-run summary: counts that must add up, accuracy, and one DuckDB query's result."""

from __future__ import annotations

from pipelines.common import python_command
from queries import connect, run_query

TOP_REASONS = 5


def summarize(output: str, counts: dict[str, int]) -> dict:
    """Read the run's shards back with DuckDB and describe them."""
    con = connect(output)
    problems, nodes, leaves, correct, undecided, solved, tokens, model_id, verifier = con.execute("""
        WITH per_problem AS (
            SELECT problem_id, bool_or(coalesce(verdict, false)) AS solved FROM nodes GROUP BY problem_id)
        SELECT (SELECT count(*) FROM per_problem),
               count(*), count(*) FILTER (WHERE is_terminal),
               count(*) FILTER (WHERE is_terminal AND verdict),
               count(*) FILTER (WHERE is_terminal AND verdict IS NULL),
               (SELECT count(*) FILTER (WHERE solved) FROM per_problem),
               coalesce(sum(num_tokens), 0), any_value(model_id), any_value(verifier)
        FROM nodes""").fetchall()[0]
    read = counts.get("problems_read", 0)
    dead_ingest = counts.get("dead_letters_validate", 0) + counts.get("dead_letters_dedupe", 0)
    dead_search = counts.get("dead_letters_search", 0)
    accepted = read - dead_ingest
    full = {"read": read, "accepted": accepted, "dead_letters_ingest": dead_ingest,
            "dead_letters_search": dead_search, "searched": problems, "nodes": nodes, "leaves": leaves,
            "correct_leaves": correct, "undecided_leaves": undecided, "solved_problems": solved,
            "generated_tokens": int(tokens)}
    stats = run_query("problem_stats", output, con)
    lines = [
        f"treemill generate: {output}",
        f"  problems: read {read} = accepted {accepted} + dead-lettered {dead_ingest}"
        f"{'' if read == accepted + dead_ingest else '  (MISMATCH)'}",
        f"  searched {problems} + search dead letters {dead_search} = accepted {accepted}"
        f"{'' if problems + dead_search == accepted else '  (MISMATCH)'}",
        f"  nodes {nodes}, leaves {leaves}, generated tokens {int(tokens)}",
        f"  accuracy: leaves {_pct(correct, leaves)} correct ({correct}/{leaves}, {undecided} undecidable); "
        f"problems solved by any leaf {_pct(solved, problems)} ({solved}/{problems})",
        *dead_letter_lines(con, output),
        f"  shards: {output}/nodes/*.parquet (also problems/, dead_letters/, manifest.json)",
        f"  query: {python_command()} -m queries problem_stats --shards {output}",
        str(stats.limit(10)),
    ]
    return {"counts": full, "model_id": model_id, "verifier": verifier, "text": "\n".join(lines)}


def dead_letter_lines(con, output: str) -> list[str]:
    """The most frequent dead-letter reasons with their counts, and where the records are."""
    rows = con.execute("""SELECT stage, reason, count(*) AS n FROM dead_letters
                          GROUP BY ALL ORDER BY n DESC, stage, reason""").fetchall()
    if not rows:
        return ["  dead letters: none"]
    total = sum(n for _, _, n in rows)
    lines = [f"  dead letters: {total} in {output}/dead_letters/, top reasons:"]
    lines += [f"    {n:>5}  {stage}: {reason}" for stage, reason, n in rows[:TOP_REASONS]]
    if len(rows) > TOP_REASONS:
        lines.append(f"    ({len(rows) - TOP_REASONS} more reasons: {python_command()} -m queries failures --shards {output})")
    return lines


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def metrics_text(metrics: dict) -> str:
    """Lines for the distributions (mean, min, max per problem / call), cache hit rates and resume counts."""
    lines = []
    for name, d in sorted(metrics.get("distributions", {}).items()):
        lines.append(f"  {name}: mean {d['mean']:g}, min {d['min']}, max {d['max']} (n={d['count']})")
    cache = metrics.get("cache", {})
    if cache:
        lines.append("  request cache: " + ", ".join(
            f"{kind} {c['hits']}/{c['hits'] + c['misses']} hits ({c['hit_rate']:.0%})" for kind, c in sorted(cache.items())))
    resume = metrics.get("resume", {})
    if resume.get("trees_resumed"):
        lines.append(f"  resumed: {resume['trees_resumed']} trees from earlier attempts (_parts/), "
                     "the rest searched in this one")
    return "\n".join(lines)
