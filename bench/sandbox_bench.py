"""Sandbox throughput: the fork-server pool against a fresh interpreter per step.

    python bench/sandbox_bench.py [--rounds 6] [--workers N]

For each snippet it measures, side by side and interleaved round by round (so load changes on a
shared machine hit every method alike):

* naive:  ``subprocess.run([sys.executable, "-c", code])`` per execution (no sandbox at all);
* pool:   ``SandboxExecutor.execute`` (cache off), one call at a time: the latency of a step;
* naive and pool "parallel": ``workers`` executions at once (threads / ``execute_many``);
* cached: a repeated call answered from the execution cache.

Per-execution overhead is the wall time of ``pass`` through the pool, and the part of a call's
wall time spent outside the child (wall minus the child's ``elapsed_s``). CPU time per execution
(every process involved, from /proc and ``os.times``) is also reported: unlike wall time it does
not depend on what else the machine is doing. Prints markdown tables (medians over rounds); paste
them under "## Sandbox" in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from transforms.sandbox import SandboxExecutor, SandboxLimits  # noqa: E402

SNIPPETS = {
    "print(3*7)": "print(3*7)",
    "sympy solve": "import sympy\nx = sympy.symbols('x')\nprint(sympy.solve(x**2 - 5*x + 6, x))",
}
# Executions per round and method: fewer for the slow naive sympy runs.
COUNTS = {("naive", "print(3*7)"): 16, ("naive", "sympy solve"): 2}
POOL_COUNT = 40
LIMITS = SandboxLimits(timeout_s=30, cpu_s=30)


def naive_run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


def per_exec_ms(run, count: int) -> float:
    start = time.perf_counter()
    run(count)
    return (time.perf_counter() - start) / count * 1000


def methods(pool: SandboxExecutor, threads: ThreadPoolExecutor, workers: int):
    """name -> (function(code, count) that runs ``count`` executions, count for a snippet)."""

    def naive_seq(code, count):
        for _ in range(count):
            naive_run(code)

    def naive_par(code, count):
        list(threads.map(naive_run, [code] * count))

    def pool_seq(code, count):
        for _ in range(count):
            assert pool.execute(code).ok

    def pool_par(code, count):
        assert all(result.ok for result in pool.execute_many([code] * count))

    return {
        "naive, 1 at a time": (naive_seq, "naive"),
        f"naive, {workers} at once": (naive_par, "naive"),
        "pool, 1 at a time": (pool_seq, "pool"),
        f"pool, {workers} at once": (pool_par, "pool"),
    }


def measure(pool, threads, workers: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    table: dict[tuple[str, str], list[float]] = {}
    for round_no in range(rounds):
        for label, code in SNIPPETS.items():
            for name, (run, kind) in methods(pool, threads, workers).items():
                count = COUNTS.get((kind, label), POOL_COUNT)
                table.setdefault((name, label), []).append(per_exec_ms(lambda n: run(code, n), count))
        print(f"round {round_no + 1}/{rounds} done", file=sys.stderr)
    return table


def overheads(pool: SandboxExecutor, count: int = 60) -> dict[str, float]:
    """Wall time of ``pass``, and the share of a call spent outside the child."""
    walls, outside = [], []
    for _ in range(count):
        start = time.perf_counter()
        result = pool.execute("pass")
        wall = time.perf_counter() - start
        walls.append(wall * 1000)
        outside.append((wall - result.elapsed_s) * 1000)
    return {"pass": statistics.median(walls), "outside child": statistics.median(outside)}


def _subtree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and every live process below it, including their reaped children."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            tasks = os.listdir(f"/proc/{current}/task")
            kids = [int(k) for t in tasks for k in Path(f"/proc/{current}/task/{t}/children").read_text().split()]
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime..cstime
        todo += kids
    return total


def cpu_per_exec_ms(pool: SandboxExecutor) -> dict[str, float]:
    """CPU time (all processes involved) per execution, one at a time: insensitive to load."""
    out = {}
    for label, code in SNIPPETS.items():
        count = COUNTS[("naive", label)] * 3
        before = os.times()
        for _ in range(count):
            naive_run(code)
        after = os.times()
        spent = (after.children_user + after.children_system) - (before.children_user + before.children_system)
        spent += (after.user + after.system) - (before.user + before.system)
        out[("naive", label)] = spent / count * 1000
        count = POOL_COUNT * 3
        roots = [worker.proc.pid for worker in pool._workers]
        sandbox_before, self_before = sum(map(_subtree_cpu_s, roots)), os.times()
        for _ in range(count):
            assert pool.execute(code).ok
        sandbox_after, self_after = sum(map(_subtree_cpu_s, roots)), os.times()
        spent = sandbox_after - sandbox_before + (self_after.user + self_after.system) - (self_before.user + self_before.system)
        out[("pool", label)] = spent / count * 1000
    return out


def cached_us(count: int = 20000) -> float:
    with SandboxExecutor(LIMITS, workers=1) as pool:
        pool.execute("print(3*7)")
        start = time.perf_counter()
        for _ in range(count):
            pool.execute("print(3*7)")
        return (time.perf_counter() - start) / count * 1e6


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()}-core {model}, Python {platform.python_version()}, load average {load:.1f} at start"


def report(table, workers: int, over: dict, cpu: dict, cached: float, isolation: str) -> str:
    def med(name, label):
        return statistics.median(table[(name, label)])

    lines = [
        f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}. Isolation: {isolation}.",
        "",
        "| snippet | method | ms / execution | executions / s | speed-up vs naive (same concurrency) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for label in SNIPPETS:
        for concurrency in ("1 at a time", f"{workers} at once"):
            naive = med(f"naive, {concurrency}", label)
            pool = med(f"pool, {concurrency}", label)
            lines.append(f"| {label} | naive subprocess, {concurrency} | {naive:.1f} | {1000 / naive:.0f} | 1.0x |")
            lines.append(f"| {label} | pool, {concurrency} | {pool:.2f} | {1000 / pool:.0f} | {naive / pool:.1f}x |")
    lines += [
        f"| print(3*7) | cache hit | {cached / 1000:.4f} | {1e6 / cached:,.0f} | |",
        "",
        "CPU time per execution, one at a time (all processes involved; unaffected by load):",
        "",
        "| snippet | naive subprocess | pool | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label in SNIPPETS:
        naive, pool = cpu[("naive", label)], cpu[("pool", label)]
        lines.append(f"| {label} | {naive:.1f} ms | {pool:.1f} ms | {naive / pool:.1f}x |")
    lines += [
        "",
        f"Per-execution overhead (pool, 1 at a time): `pass` takes {over['pass']:.2f} ms wall; "
        f"{over['outside child']:.2f} ms of a call is spent outside the child (parent, pipes, fork server).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with SandboxExecutor(LIMITS, workers=args.workers, cache_bytes=0) as pool, ThreadPoolExecutor(args.workers) as threads:
        pool.execute_many(["print(0)"] * args.workers)  # warm every worker
        table = measure(pool, threads, args.workers, args.rounds)
        over = overheads(pool)
        cpu = cpu_per_exec_ms(pool)
        isolation = pool.isolation
    print(report(table, args.workers, over, cpu, cached_us(), isolation))


if __name__ == "__main__":
    main()
