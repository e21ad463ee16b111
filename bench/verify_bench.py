"""Verifier benchmark: treemill's MathVerifier vs math-verify, side by side in one run.

Measures checks/second on GSM8K-style numeric answers, MATH-style LaTeX answers (gold against
itself and against perturbed forms, equal and unequal) and whole reference solutions, the accuracy of both against the labels
those perturbations carry by construction, and agreement of both with
``../shared/data/answer_equivalence/examples.jsonl`` by source.

Run from the repo root: ``python bench/verify_bench.py`` (about two minutes on 2 cores);
``--markdown`` prints the tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from transforms.verify import MathVerifier, VerifyOptions  # noqa: E402
from transforms.verify.normalize import normalize  # noqa: E402

SHARED = Path(os.environ.get("TREEMILL_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
CONVENTIONS = {
    "hendrycks-math": VerifyOptions.hendrycks_math(),
    "mario-eval": VerifyOptions.mario(),
}


def gsm8k_pairs(n: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(prediction, gold, expected) for numeric golds: the ways a solution states a number."""
    rows = [json.loads(line) for line in (SHARED / "gsm8k" / "train_normalized.jsonl").open()]
    golds = [r["answer"] for r in rng.sample(rows, n)]
    pairs = []
    for gold in golds:
        value = float(gold)
        commas = f"{int(value):,}" if value.is_integer() else f"{value:,}"
        wrong = str(int(value) + rng.choice([-1, 1, 10])) if value.is_integer() else f"{value + 0.5:g}"
        pairs += [
            (gold, gold, True),
            (f"The answer is {commas}.", gold, True),
            (f"Natalia gets 3 more, so in total\n#### {commas}", gold, True),
            (f"so she pays \\boxed{{\\${commas}}}", gold, True),
            (f"{gold}.00" if "." not in gold else gold + "0", gold, True),
            (f"The answer is {wrong}.", gold, False),
            (f"\\boxed{{{wrong}}}", gold, False),
        ]
    return pairs


def math_pairs(n: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(prediction, gold, expected) for MATH golds: boxed as-is, respaced, dfrac, and a wrong one."""
    rows = [json.loads(line) for line in (SHARED / "math" / "train.jsonl").open()]
    golds = [r["answer"] for r in rng.sample([r for r in rows if r["answer"].strip()], n)]
    pairs = []
    for gold in golds:
        other = rng.choice(golds)
        while normalize(other).key == normalize(gold).key:  # e.g. "2 \\text{ euros}" and "2"
            other = rng.choice(golds)
        pairs += [
            (f"Therefore the answer is $\\boxed{{{gold}}}$.", gold, True),
            (f"\\boxed{{{_respace(gold)}}}", gold, True),
            (f"So we get $\\boxed{{{gold.replace(chr(92) + 'frac', chr(92) + 'dfrac')}}}$", gold, True),
            (f"\\boxed{{{other}}}", gold, False),
        ]
    return pairs


def solution_pairs(n: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(whole solution, gold, expected): real reference solutions of MATH and GSM8K train against
    their own answers (equal) and against another problem's answer (not equal)."""
    math_rows = [json.loads(line) for line in (SHARED / "math" / "train.jsonl").open()]
    raw = [json.loads(line) for line in (SHARED / "gsm8k" / "train.jsonl").open()]
    normalized = [json.loads(line) for line in (SHARED / "gsm8k" / "train_normalized.jsonl").open()]
    pairs = []
    for row in rng.sample(math_rows, n):
        other = rng.choice(math_rows)
        while normalize(other["answer"]).key == normalize(row["answer"]).key:
            other = rng.choice(math_rows)
        pairs += [(row["solution"], row["answer"], True), (row["solution"], other["answer"], False)]
    for index in rng.sample(range(len(raw)), n):
        gold = normalized[index]["answer"]
        wrong = str(int(float(gold)) + 1) if float(gold).is_integer() else f"{float(gold) + 1:g}"
        pairs += [(raw[index]["answer"], gold, True), (raw[index]["answer"], wrong, False)]
    return pairs


def _respace(latex: str) -> str:
    """Spaces around operators and list commas, as models often write them (not inside ``\\,``
    or a thousands separator ``31,250``)."""
    return re.sub(r"(?<!\\)\s*([+=<>]|,(?!\d{3}))\s*", r" \1 ", latex).strip()


def time_side_by_side(pairs, options: VerifyOptions, wrap_gold: bool, chunks: int = 20):
    """Time MathVerifier.verify and math-verify's documented call on the same pairs, alternating
    chunk by chunk so that load changes on a shared machine hit both tools alike.

    math-verify is called as ``verify(parse(gold), parse(pred))``; LaTeX golds are given as
    ``$gold$`` because its LaTeX extractor only reads math inside delimiters (a bare ``(0,4)`` is
    misread by its plain-expression extractor), which is how its README calls it on MATH golds.
    Returns (our seconds, our verdicts, our methods, their seconds, their results).
    """
    from math_verify import parse, verify

    verify(parse("$2$"), parse("$2$"))  # import and warm outside the timing
    ours: list[bool | None] = []
    theirs: list[bool] = []
    methods: dict[str, int] = defaultdict(int)
    our_s = their_s = 0.0
    size = max(1, len(pairs) // chunks)
    with MathVerifier(options) as verifier:
        verifier.check("\\sqrt{4}", "2")  # start a worker outside the timing
        for i in range(0, len(pairs), size):
            chunk = pairs[i : i + size]
            start = time.perf_counter()
            verdicts = [verifier.verify(pred, gold) for pred, gold, _ in chunk]
            our_s += time.perf_counter() - start
            start = time.perf_counter()
            theirs += [bool(verify(parse(f"${gold}$" if wrap_gold else gold), parse(pred))) for pred, gold, _ in chunk]
            their_s += time.perf_counter() - start
            ours += [v.equal for v in verdicts]
            for verdict in verdicts:
                methods[verdict.method] += 1
    return our_s, ours, dict(methods), their_s, theirs


def time_cached(pairs) -> float:
    """Seconds for MathVerifier with its cache on over the pairs twice (tree search repeats)."""
    with MathVerifier(VerifyOptions()) as verifier:
        verifier.check("\\sqrt{4}", "2")
        start = time.perf_counter()
        for pred, gold, _ in pairs + pairs:
            verifier.verify(pred, gold)
        return time.perf_counter() - start


def accuracy(results, pairs) -> float:
    """Share of pairs where the tool's answer (None counts as not equal) matches the label."""
    return sum((r is True) == expected for r, (_, _, expected) in zip(results, pairs)) / len(pairs)


def examples_agreement() -> dict[str, dict[str, str]]:
    """Per source: agreement of math-verify, ours (default options), ours (source's convention)."""
    from math_verify import parse, verify

    rows = [json.loads(line) for line in (SHARED / "answer_equivalence" / "examples.jsonl").open()]
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    default = MathVerifier(VerifyOptions())
    per_source = {name: MathVerifier(options) for name, options in CONVENTIONS.items()}
    for row in rows:
        source = row["source"].split(":")[0]
        tally = tallies[source]
        tally["n"] += 1
        tally["math-verify"] += bool(verify(parse(row["gold"]), parse(row["pred"]))) == row["equal"]
        tally["ours"] += (default.verify(row["pred"], row["gold"]).equal is True) == row["equal"]
        convention = per_source.get(source, default)
        tally["ours (convention)"] += (convention.verify(row["pred"], row["gold"]).equal is True) == row["equal"]
    for verifier in [default, *per_source.values()]:
        verifier.close()
    table = {}
    for source, tally in sorted(tallies.items()):
        n = tally["n"]
        table[source] = {k: f"{tally[k]}/{n}" for k in ("math-verify", "ours", "ours (convention)")}
    return table


GRADED = REPO_ROOT / "tests" / "transforms" / "verify" / "data" / "graded_pairs.jsonl"


def graded_agreement() -> dict[str, dict[str, str]]:
    """Agreement with the project's graded pairs (tests/.../graded_pairs.jsonl), by origin: ours
    under each row's convention, math-verify with its defaults (gold in ``$...$`` when it has no
    delimiters, as NeMo-Skills calls it). A None verdict counts as not equal."""
    from math_verify import parse, verify

    from transforms.verify.options import CONVENTIONS

    rows = [json.loads(line) for line in GRADED.open()]
    verifiers = {name: MathVerifier(VerifyOptions.convention(name)) for name in CONVENTIONS}
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        expected = row["equal"] is True
        ours = verifiers[row["convention"]].verify(row["pred"], row["gold"]).equal is True
        gold = row["gold"] if re.search(r"\$|\\\(|\\\[|\\boxed", row["gold"]) else f"${row['gold']}$"
        theirs = bool(verify(parse(gold), parse(row["pred"])))
        origin = "hand-written" if row["source"] == "hand" else "from MATH/GSM8K train"
        for key in (origin, "all"):
            tallies[key]["n"] += 1
            tallies[key]["ours"] += ours == expected
            tallies[key]["math-verify"] += theirs == expected
    for verifier in verifiers.values():
        verifier.close()
    return {k: {m: f"{t[m]}/{t['n']} ({t[m] / t['n']:.1%})" for m in ("ours", "math-verify")} for k, t in tallies.items()}


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print a report (``--markdown`` for the docs tables)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gsm8k", type=int, default=1500, help="GSM8K golds sampled (7 pairs each)")
    parser.add_argument("--math", type=int, default=750, help="MATH golds sampled (4 pairs each)")
    parser.add_argument("--solutions", type=int, default=250,
                        help="MATH and GSM8K rows each sampled for whole solutions (2 pairs each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # math-verify logs a warning per unparsable string
    rng = random.Random(args.seed)
    rows = []
    sets = (("GSM8K numeric", gsm8k_pairs(args.gsm8k, rng), False), ("MATH LaTeX", math_pairs(args.math, rng), True),
            ("whole solutions (MATH + GSM8K)", solution_pairs(args.solutions, rng), True))
    for name, pairs, latex_gold in sets:
        our_s, ours, methods, mv_s, theirs = time_side_by_side(pairs, VerifyOptions(cache_size=0), latex_gold)
        cached_s = time_cached(pairs)
        rows.append({
            "set": name, "pairs": len(pairs),
            "ours_cps": len(pairs) / our_s, "ours_cached_cps": 2 * len(pairs) / cached_s,
            "mv_cps": len(pairs) / mv_s, "ratio": mv_s / our_s,
            "ours_acc": accuracy(ours, pairs), "mv_acc": accuracy(theirs, pairs),
            "agree": sum((a is True) == b for a, b in zip(ours, theirs)) / len(pairs),
            "methods": methods,
        })
    agreement = examples_agreement()
    _report(rows, agreement, args.markdown)
    print()
    print("| graded pairs (tests/transforms/verify/data) | treemill | math-verify |")
    print("| --- | ---: | ---: |")
    for origin, cells in graded_agreement().items():
        print(f"| {origin} | {cells['ours']} | {cells['math-verify']} |")
    return 0


def _report(rows, agreement, markdown: bool) -> None:
    """Print the throughput and agreement tables."""
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={_cpus()} python={platform.python_version()}"
          f" date={date.today().isoformat()}")
    print()
    print("| answers | pairs | treemill checks/s | treemill, cache on (each pair twice) | math-verify checks/s "
          "| speed-up | label accuracy treemill / math-verify | verdicts agree |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for r in rows:
        print(f"| {r['set']} | {r['pairs']} | {r['ours_cps']:,.0f} | {r['ours_cached_cps']:,.0f} | {r['mv_cps']:,.0f} "
              f"| {r['ratio']:.1f}x | {r['ours_acc']:.1%} / {r['mv_acc']:.1%} | {r['agree']:.1%} |")
    print()
    print("| source | math-verify | treemill (default options) | treemill (source's convention) |")
    print("| --- | ---: | ---: | ---: |")
    for source, cells in agreement.items():
        print(f"| {source} | {cells['math-verify']} | {cells['ours']} | {cells['ours (convention)']} |")
    if not markdown:
        print()
        for r in rows:
            print(f"{r['set']}: treemill methods {r['methods']}")


def _cpus() -> int:
    """CPUs this process may use."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
