"""Fuzz the verifier at scale: 10,000 random model-output-shaped texts through extraction, and
10,000 (prediction, gold) pairs through ``MathVerifier.verify``: no exception, and no check past
its timeout (plus the slack of restarting a killed worker). The suite runs the same properties
on a few hundred cases (tests/transforms/verify/test_fuzz.py).

Run from the repo root: ``python bench/verify_fuzz.py [--extract N] [--verify N]``; prints counts,
the slowest check and the extraction methods seen. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from transforms.verify import MathVerifier, VerifyOptions, extract_answer, gold_answer  # noqa: E402
from transforms.verify.fuzzing import latex, solution, text  # noqa: E402

TIMEOUT_S = 1.0
SLACK_S = 3.0  # killing a stuck worker, and a shared machine starving this process of CPU


def fuzz_extraction(n: int) -> Counter:
    """``extract_answer`` and ``gold_answer`` on ``n`` texts; returns the methods seen."""
    methods: Counter = Counter()

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(solution, text, latex))
    def run(s):
        answer, method = extract_answer(s)
        assert (answer is None) == (method is None)
        assert isinstance(gold_answer(s), str)
        methods[method] += 1

    run()
    return methods


def fuzz_verify(n: int) -> tuple[Counter, float]:
    """``verify`` on ``n`` pairs; returns verdict methods and the slowest check in seconds."""
    methods: Counter = Counter()
    slowest = [0.0]
    with MathVerifier(VerifyOptions(timeout_s=TIMEOUT_S, workers=1)) as verifier:

        @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(st.one_of(solution, latex, text), st.one_of(latex, solution))
        def run(pred, gold):
            startup = verifier.worker_startup_s
            verdict = verifier.verify(pred, gold)
            assert verdict.equal in (True, False, None)
            # starting a replacement worker after a kill is not part of the budget (VerifyOptions.timeout_s)
            spent = verdict.elapsed_s - (verifier.worker_startup_s - startup)
            assert spent < TIMEOUT_S + SLACK_S, (pred, gold, verdict)
            slowest[0] = max(slowest[0], spent)
            methods[verdict.method] += 1

        run()
    return methods, slowest[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extract", type=int, default=10_000)
    parser.add_argument("--verify", type=int, default=10_000)
    args = parser.parse_args(argv)
    start = time.monotonic()
    extraction = fuzz_extraction(args.extract)
    print(f"extraction: {sum(extraction.values())} texts, no exception, {time.monotonic() - start:.0f} s; "
          f"methods {dict(extraction.most_common())}")
    start = time.monotonic()
    verdicts, slowest = fuzz_verify(args.verify)
    print(f"verify: {sum(verdicts.values())} pairs, no exception, slowest check {slowest:.2f} s "
          f"(limit {TIMEOUT_S + SLACK_S:.1f} s), {time.monotonic() - start:.0f} s; methods {dict(verdicts.most_common())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
