"""Code-step benchmark: what share of a policy's code-mode steps are well formed and run.

rStar-Math's round 0 needs a policy that writes code steps. This runs ``generate`` in code-step mode
(``--step-format rstar``, step-level beam search ranked by log-probability, so no scorer is needed)
over the first problems of a GSM8K-format file and counts, over every generated step (depth >= 1):

- well formed: parsed as a code step or a final answer (``exec_status`` is not ``malformed``);
- executed: a code step whose cumulative code ran without error in the sandbox (``exec_status = ok``);
- answered: well-formed final steps that state a \\boxed{} answer; correct: of those, the verifier accepted.

Run it on the default model (before) and on the policy fine-tuned on ``python -m transforms.bootstrap``
traces (after), from the repo root; ``--after`` runs both on the same problems in one invocation and
prints them side by side:

    python bench/code_step_share.py                       # SmolLM2-135M-Instruct, bundled demo problems
    python bench/code_step_share.py --model OUT/policy    # one model
    python bench/code_step_share.py --after out/demo-evolve/round-0/policy   # before and after the bootstrap SFT
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARE = """
SELECT count(*) AS steps,
       count(*) FILTER (WHERE coalesce(exec_status, '') <> 'malformed') AS well_formed,
       count(*) FILTER (WHERE exec_status = 'ok') AS executed,
       count(*) FILTER (WHERE step_kind = 'code') AS code_steps,
       -- a malformed step keeps the kind its text suggested (an answer marker), so filter on exec_status too
       count(*) FILTER (WHERE step_kind = 'answer' AND coalesce(exec_status, '') <> 'malformed') AS answered,
       count(*) FILTER (WHERE step_kind = 'answer' AND coalesce(exec_status, '') <> 'malformed' AND verdict) AS correct
FROM read_parquet('{nodes}') WHERE depth >= 1
"""


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--after", help="a second model (e.g. the bootstrap SFT policy) measured on the same problems")
    parser.add_argument("--input", default=str(REPO / "pipelines" / "data" / "gsm8k_demo.jsonl"))
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--n", type=int, default=4, help="steps sampled per beam (default 4)")
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=160)
    args, extra = parser.parse_known_args(argv)
    results = {model: measure(model, args, extra) for model in [args.model] + ([args.after] if args.after else [])}
    print("\n| model | steps | well formed | executed | final answers (correct) |\n|---|---:|---:|---:|---:|")
    for model, counts in results.items():
        steps = counts["steps"] or 1
        print(f"| {model} | {counts['steps']} | {counts['well_formed']} ({100 * counts['well_formed'] / steps:.1f}%) | "
              f"{counts['executed']} ({100 * counts['executed'] / steps:.1f}%) | {counts['answered']} ({counts['correct']}) |")
    return results


def measure(model: str, args, extra: list[str]) -> dict:
    """Generate in code-step mode with ``model`` and count its steps (see the module docstring)."""
    from pipelines.generate import run

    with tempfile.TemporaryDirectory() as out:
        run(["--input", args.input, "--limit", str(args.limit), "--output", out, "--model", model,
             "--search", "sbs", "--step-format", "rstar", "--search-param", f"n={args.n}",
             "--search-param", f"max_depth={args.max_depth}", "--search-param", f"max_tokens={args.max_tokens}",
             "--search-param", "rank_by=logprob", "--no-progress", *extra])
        row = duckdb.connect().execute(SHARE.format(nodes=f"{out}/nodes/*.parquet")).fetchone()
    counts = dict(zip(("steps", "well_formed", "executed", "code_steps", "answered", "correct"), row))
    steps = counts["steps"] or 1
    print(f"model {model}: {counts['steps']} steps over {args.limit} problems; well formed "
          f"{100 * counts['well_formed'] / steps:.1f}%, executed {100 * counts['executed'] / steps:.1f}%, "
          f"final answers {counts['answered']} ({counts['correct']} correct)")
    return counts


if __name__ == "__main__":
    main()
