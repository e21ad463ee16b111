"""SandboxExecutor: results, isolation report, pool behaviour, cache, threads, life cycle."""

from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from transforms.step_formats.code import cumulative_code
from transforms.protocols import ExecutionResult, Executor
from transforms.sandbox import ISOLATION_ORDER, SandboxExecutor, SandboxLimits, is_secret_name, scrub_env
from transforms.sandbox import worker as worker_module
from transforms.sandbox.cache import ExecutionCache, cache_key, is_cacheable
from transforms.sandbox.worker import WORKER_DIED, WORKER_HUNG

# Pools made for one test skip numpy/sympy: they start in a fraction of a second.
LIGHT = ("math", "random")


def _result(status="ok", stdout="", reason=None) -> ExecutionResult:
    return ExecutionResult(status, 0, stdout, "", False, 0.001, reason)


# --- results ----------------------------------------------------------------------------------


def test_implements_the_executor_protocol(executor):
    assert isinstance(executor, Executor)


def test_ok_result(executor):
    result = executor.execute("x = 3 * 7\nprint(x)")
    assert (result.status, result.exit_code, result.stdout, result.stderr) == ("ok", 0, "21\n", "")
    assert result.ok and not result.truncated and result.reason is None
    assert 0 < result.elapsed_s < executor.limits.timeout_s


def test_error_result_has_a_clean_traceback_and_reason(executor):
    result = executor.execute("print('before')\ny = undefined_name + 1")
    assert result.status == "error" and result.exit_code == 1
    assert result.stdout == "before\n"
    assert 'File "<step>", line 2' in result.stderr
    assert "y = undefined_name + 1" in result.stderr  # source lines are shown, as for a file
    assert "zygote.py" not in result.stderr and "child.py" not in result.stderr
    assert result.reason == "NameError: name 'undefined_name' is not defined"


def test_syntax_error(executor):
    result = executor.execute("def f(:\n    pass")
    assert result.status == "error" and result.reason.startswith("SyntaxError")


def test_stderr_is_separate(executor):
    result = executor.execute("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert (result.stdout, result.stderr) == ("out\n", "err\n")


def test_common_modules_are_preloaded(executor):
    result = executor.execute("import sys\nprint(all(m in sys.modules for m in ('sympy', 'numpy', 'math', 'fractions', 'itertools')))")
    assert result.stdout == "True\n"


def test_sympy_and_numpy_work(executor):
    code = "import sympy, numpy as np\nx = sympy.symbols('x')\nprint(sympy.solve(x**2 - 5*x + 6, x), int(np.arange(5).sum()))"
    assert executor.execute(code).stdout == "[2, 3] 10\n"


def test_state_does_not_leak_between_executions(executor):
    executor.execute_many(["import math\nmath.tm_leak = 1\nleaked_global = 5"] * 2)
    checks = executor.execute_many([f"# {i}\nimport math\nprint(hasattr(math, 'tm_leak'), 'leaked_global' in globals())" for i in range(4)])
    assert [check.stdout for check in checks] == ["False False\n"] * 4


def test_each_execution_gets_fresh_randomness(executor):
    draws = {executor.execute(f"# {i}\nimport random, numpy\nprint(random.random(), numpy.random.rand())").stdout for i in range(4)}
    assert len(draws) == 4


def test_threads_finish_before_exit_as_in_python(executor):
    code = "import threading, time\ndef late():\n    time.sleep(0.2)\n    print('late')\nthreading.Thread(target=late).start()\nprint('main')"
    assert executor.execute(code).stdout == "main\nlate\n"


def test_cumulative_code_runs_earlier_steps_silently(executor):
    program = cumulative_code(["a = 5\nprint('earlier', a)", "b = a * 2\nprint('also earlier')", "print(a + b)"])
    assert executor.execute(program).stdout == "15\n"


def test_per_call_limits(executor):
    short = SandboxLimits(timeout_s=0.5, cpu_s=1, memory_mb=1024)
    result = executor.execute("import time\ntime.sleep(5)", limits=short)
    assert result.status == "timeout" and result.elapsed_s < 1.5


def test_cpu_limit_is_reported_as_timeout(executor):
    cpu_bound = SandboxLimits(timeout_s=3, cpu_s=1, memory_mb=1024)
    result = executor.execute("while True:\n    pass", limits=cpu_bound)
    assert result.status == "timeout", result
    assert "CPU" in result.reason or "wall-clock" in result.reason, result


# --- isolation report -------------------------------------------------------------------------


def test_isolation_is_reported(executor):
    assert executor.isolation in ISOLATION_ORDER
    assert executor.isolation_description


def test_start_up_logs_the_isolation(caplog):
    with caplog.at_level(logging.INFO, logger="transforms.sandbox.executor"):
        with SandboxExecutor(workers=1, isolation="rlimits", preload=LIGHT) as pool:
            assert pool.isolation == "rlimits"
            assert pool.execute("print(1)").stdout == "1\n"
    assert any("sandbox isolation: rlimits" in record.getMessage() for record in caplog.records)


def test_unknown_isolation_is_refused():
    with pytest.raises(RuntimeError, match="unknown isolation"):
        SandboxExecutor(workers=1, isolation="chroot")


# --- pool behaviour ---------------------------------------------------------------------------


def test_execute_many_keeps_order_and_runs_in_parallel(executor):
    # Each program reports when it ran; with two workers some of them must overlap in time.
    code = "import time\nstart = time.time()\ntime.sleep(0.5)\nprint({}, start, time.time())"
    results = executor.execute_many([code.format(i) for i in range(4)])
    spans = [tuple(float(x) for x in r.stdout.split()) for r in results]
    assert [int(span[0]) for span in spans] == [0, 1, 2, 3]
    assert any(a[1] < b[2] and b[1] < a[2] for a in spans for b in spans if a is not b)


def test_thread_safety(executor):
    errors = []

    def hammer(thread: int) -> None:
        for i in range(6):
            result = executor.execute(f"print({thread} * 100 + {i})")
            if result.stdout != f"{thread * 100 + i}\n":
                errors.append(result)

    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_killed_worker_is_replaced():
    with SandboxExecutor(workers=1, cache_bytes=0, preload=LIGHT) as pool:
        os.killpg(pool._workers[0].proc.pid, signal.SIGKILL)
        first = pool.execute("print('after kill')")
        assert first.status in ("ok", "killed")
        assert first.status == "ok" or first.reason == WORKER_DIED
        assert pool.execute("print('again')").stdout == "again\n"


def test_a_hung_worker_is_killed_and_replaced(monkeypatch):
    monkeypatch.setattr(worker_module, "REPLY_GRACE_S", 0.5)
    limits = SandboxLimits(timeout_s=0.5, cpu_s=1, memory_mb=1024)
    with SandboxExecutor(limits, workers=1, cache_bytes=0, preload=LIGHT) as pool:
        pool.execute("print(1)")
        os.killpg(pool._workers[0].proc.pid, signal.SIGSTOP)  # the fork server stops answering
        hung = pool.execute("print(2)")
        assert hung.status == "timeout" and hung.reason.startswith(WORKER_HUNG)
        assert pool.execute("print(3)").stdout == "3\n"
        assert pool.stats()["worker_restarts"] == 1


# --- cache ------------------------------------------------------------------------------------


def test_cache_hits_return_the_stored_result():
    with SandboxExecutor(workers=1, preload=LIGHT) as pool:
        first = pool.execute("import random\nprint(random.random())")
        second = pool.execute("import random\nprint(random.random())")
        assert second is first
        other_limits = pool.execute("import random\nprint(random.random())", limits=SandboxLimits(timeout_s=3))
        assert other_limits.stdout != first.stdout
        stats = pool.stats()
        assert (stats["cache_hits"], stats["executions"]) == (1, 2)


def test_concurrent_identical_calls_share_one_execution():
    with SandboxExecutor(workers=2, preload=LIGHT) as pool:
        results = pool.execute_many(["import time\ntime.sleep(0.3)\nprint('once')"] * 6)
        assert {r.stdout for r in results} == {"once\n"}
        assert pool.stats()["executions"] == 1


def test_cache_key_depends_on_code_and_limits():
    limits = SandboxLimits()
    assert cache_key("print(1)", limits) == cache_key("print(1)", SandboxLimits())
    assert cache_key("print(1)", limits) != cache_key("print(2)", limits)
    assert cache_key("print(1)", limits) != cache_key("print(1)", SandboxLimits(timeout_s=1))


def test_cache_skips_sandbox_failures_and_evicts_by_size():
    assert not is_cacheable(_result("killed", reason=WORKER_DIED))
    assert not is_cacheable(_result("timeout", reason=f"{WORKER_HUNG} within 15 s"))
    assert not is_cacheable(_result("sandbox_error", reason="no fork server"))
    assert is_cacheable(_result("timeout", reason="wall-clock limit of 2 s exceeded"))
    cache = ExecutionCache(max_bytes=3000)
    for i in range(5):
        cache.put(str(i), _result(stdout="x" * 1000))
    assert cache.get("0") is None and cache.get("4") is not None
    assert len(cache) == 2


# --- life cycle and configuration -------------------------------------------------------------


def test_close_kills_the_pool_and_refuses_new_work():
    pool = SandboxExecutor(workers=2, preload=LIGHT)
    procs = [worker.proc for worker in pool._workers]
    pool.close()
    pool.close()  # idempotent
    assert all(proc.poll() is not None for proc in procs)
    with pytest.raises(RuntimeError, match="closed"):
        pool.execute("print(1)")
    with pytest.raises(RuntimeError, match="closed"):
        pool.execute_many(["print(1)"])


def test_executor_refuses_to_be_pickled(executor):
    import pickle

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(executor)


def test_limits_are_validated():
    with pytest.raises(ValueError):
        SandboxLimits(timeout_s=0)
    with pytest.raises(ValueError):
        SandboxLimits(max_open_files=3)


def test_scrub_env_keeps_only_harmless_variables():
    env = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "HF_TOKEN": "x",
        "OPENAI_API_KEY": "x",
        "AWS_ACCESS_KEY_ID": "x",
        "GITHUB_TOKEN": "x",
        "DB_PASSWORD": "x",
        "MY_SECRET": "x",
        "HOME": "/root",
        "LC_AUTH_TOKEN": "x",
    }
    scrubbed = scrub_env(env)
    assert {"PATH", "LANG", "LC_ALL"} <= set(scrubbed)
    assert not {"HF_TOKEN", "OPENAI_API_KEY", "AWS_ACCESS_KEY_ID", "GITHUB_TOKEN", "DB_PASSWORD", "MY_SECRET", "HOME", "LC_AUTH_TOKEN"} & set(scrubbed)
    assert scrubbed["OPENBLAS_NUM_THREADS"] == "1"
    assert all(is_secret_name(name) for name in ("HF_HOME", "AWS_REGION", "api_key", "X_PASSWORD"))
    assert not any(is_secret_name(name) for name in ("PATH", "LANG", "TZ"))
