"""Hang-proofing: timeouts, killing and replacing stuck workers, lazy start, clean shutdown."""

from __future__ import annotations

import threading
import time

from transforms.verify import MathVerifier, VerifyOptions
from transforms.verify.pool import SymbolicPool

HANG = "10^{10^{10}}"  # sympy computes this integer: minutes of CPU and gigabytes


def test_pool_starts_lazily_and_closes():
    pool = SymbolicPool(size=1)
    assert pool.live_workers == 0
    answer = pool.call("\\sqrt{4}", "2", {}, timeout_s=10)
    assert answer["equal"] is True and pool.live_workers == 1
    pool.close()
    assert pool.live_workers == 0


def test_timeout_kills_and_replaces_worker():
    with SymbolicPool(size=1) as pool:
        pool.call("1", "1", {}, timeout_s=10)  # start the worker outside the timed call
        start = time.monotonic()
        answer = pool.call(HANG, "5", {}, timeout_s=0.5)
        assert answer == {"equal": None, "rule": "timeout"}
        assert time.monotonic() - start < 3.0  # 0.5 s budget + kill, with slack for a loaded CI box
        assert pool.killed == 1 and pool.live_workers == 0
        assert pool.call("\\sqrt{9}", "3", {}, timeout_s=10)["equal"] is True  # a fresh worker
        assert pool.started == 2


def test_timeout_verdict_is_not_a_crash():
    with MathVerifier(VerifyOptions(timeout_s=0.5, workers=1)) as verifier:
        verifier.check("\\sqrt{4}", "2")  # warm
        start = time.monotonic()
        verdict = verifier.check(HANG, "5")
        assert verdict.equal is None and verdict.method == "timeout"
        assert time.monotonic() - start < 3.0  # 0.5 s budget + kill, with slack for a loaded CI box
        again = verifier.check(HANG, "5")  # cached: no second stall
        assert again.method == "timeout" and again.elapsed_s < 0.1
        assert verifier.check("\\sqrt{16}", "4").equal is True


def test_busy_workers_make_callers_wait_not_fail():
    with SymbolicPool(size=1) as pool:
        results = []

        def work(n):
            results.append(pool.call(f"\\sqrt{{{n * n}}}", str(n), {}, timeout_s=20)["equal"])

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2, 6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [True] * 4 and pool.started == 1


def test_memory_cap_answers_undecided():
    """A worker that runs out of its address space answers instead of taking the machine down."""
    with SymbolicPool(size=1, memory_mb=400) as pool:
        answer = pool.call("(x+y+z+1)^{400}", "(1+x+y+z)^{400}", {}, timeout_s=20)
        assert answer["equal"] in (True, None)  # equal if sympy manages within the cap
        assert pool.call("\\sqrt{4}", "2", {}, timeout_s=10)["equal"] is True
