"""Build ``graded_pairs.jsonl``: the hand-written pairs plus pairs perturbed from real golds.

Run by a developer from the repo root (the tests only read the jsonl this writes, which lives in
tests/transforms/verify/data/ beside ``hand_pairs.py``; this script reads ../shared, so it stays out
of tests/)::

    python bench/build_graded_pairs.py ../shared/data

Generated pairs come from MATH train (hendrycks, MIT) and GSM8K train (openai/grade-school-math,
MIT); see ``README.md`` here. Labels follow from how each pair is built: a reference solution
against its own answer is equal, another problem's solution (whose answer differs) is not, a
restatement in another notation is equal, a changed value is not.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "tests" / "transforms" / "verify" / "data"  # hand_pairs.py in, graded_pairs.jsonl out
sys.path.insert(0, str(HERE))

from hand_pairs import HAND  # noqa: E402

N_MATH = 45
N_GSM8K = 40


def _record(rule: str, gold: str, pred: str, equal: bool | None, source: str, convention: str = "default") -> dict:
    return {"rule": rule, "gold": gold, "pred": pred, "equal": equal, "convention": convention, "source": source}


def hand_pairs() -> list[dict]:
    """The entries of ``hand_pairs.HAND`` as records."""
    out = []
    for entry in HAND:
        rule, gold, pred, equal = entry[:4]
        out.append(_record(rule, gold, pred, equal, "hand", entry[4] if len(entry) > 4 else "default"))
    return out


def _key(answer: str) -> str:
    """A loose form for telling two golds apart (so a swapped gold is surely different)."""
    s = re.sub(r"\\[dt]frac", r"\\frac", answer)
    s = re.sub(r"\\(?:left|right|!|,|;|text\{[^}]*\}|mbox\{[^}]*\}|\$)|\^\\circ|\^\{\\circ\}|\\%|\s", "", s)
    try:
        return repr(float(eval(s.replace("\\frac{", "(").replace("}{", ")/(").replace("}", ")"), {})))  # noqa: S307
    except Exception:  # not a plain number: compare the string
        return s


def math_pairs(rows: list[dict], rng: random.Random) -> list[dict]:
    """Reference solutions, restatements and swapped solutions for sampled MATH golds."""
    rows = [r for r in rows if len(r["solution"]) < 900 and r["answer"].strip()]
    sample = rng.sample(rows, N_MATH)
    out = []
    for row in sample:
        gold, source = row["answer"], f"math-train:{row['unique_id']}"
        out.append(_record("math_reference_solution", gold, row["solution"], True, source))
        out.append(_record("math_answer_sentence", gold, f"So the final answer is ${gold}$.", True, source))
        if "\\frac" in gold:
            out.append(_record("math_dfrac_box", gold, f"Thus we get $\\boxed{{{gold.replace(chr(92) + 'frac', chr(92) + 'dfrac')}}}$.",
                               True, source))
        other = rng.choice(rows)
        while _key(other["answer"]) == _key(gold) or other["answer"].strip() in gold:
            other = rng.choice(rows)
        out.append(_record("math_other_solution", gold, other["solution"], False,
                           f"{source} vs math-train:{other['unique_id']}"))
    return out


def gsm8k_pairs(raw: list[dict], normalized: list[dict], rng: random.Random) -> list[dict]:
    """Reference solutions, restated final lines and off-by-some values for sampled GSM8K golds."""
    out = []
    for index in rng.sample(range(len(raw)), N_GSM8K):
        solution, gold = raw[index]["answer"], normalized[index]["answer"]
        source = f"gsm8k-train:{normalized[index]['id']}"
        body = solution.rsplit("####", 1)[0].rstrip()
        value = float(gold)
        commas = f"{int(value):,}" if value.is_integer() else gold
        wrong = str(int(value) + rng.choice([1, 2, 10])) if value.is_integer() else f"{value + 1:g}"
        out.append(_record("gsm8k_reference_solution", gold, solution, True, source))
        out.append(_record("gsm8k_boxed_restatement", gold, f"{body}\nThe answer is $\\boxed{{{commas}}}$.", True, source))
        out.append(_record("gsm8k_dollar_sentence", gold, f"{body}\nSo the answer is ${commas}.", True, source))
        out.append(_record("gsm8k_wrong_value", gold, f"{body}\n#### {wrong}", False, source))
    return out


def main(argv: list[str]) -> int:
    shared = Path(argv[1]) if len(argv) > 1 else REPO.parent / "shared" / "data"
    rng = random.Random(10)
    math_rows = [json.loads(line) for line in (shared / "math" / "train.jsonl").open()]
    raw = [json.loads(line) for line in (shared / "gsm8k" / "train.jsonl").open()]
    normalized = [json.loads(line) for line in (shared / "gsm8k" / "train_normalized.jsonl").open()]
    records = hand_pairs() + math_pairs(math_rows, rng) + gsm8k_pairs(raw, normalized, rng)
    with (HERE / "graded_pairs.jsonl").open("w") as out:
        for number, record in enumerate(records):
            out.write(json.dumps({"id": f"gp-{number:04d}", **record}, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
