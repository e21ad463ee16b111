"""``SandboxExecutor``: the ``Executor`` protocol over a pool of sandboxed fork servers."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Sequence

from transforms.protocols import ExecutionResult
from transforms.sandbox.cache import ExecutionCache, cache_key
from transforms.sandbox.isolation import DEFAULT_PRELOAD, ISOLATION_ORDER, LaunchPlan, plan
from transforms.sandbox.limits import SandboxLimits
from transforms.sandbox.worker import Worker, WorkerStartError, failure_result, is_worker_failure

logger = logging.getLogger(__name__)

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


def default_workers() -> int:
    """One fork server per CPU, at most 8."""
    return max(1, min(os.cpu_count() or 1, 8))


class SandboxExecutor:
    """Runs model-written Python in disposable children of pre-warmed, sandboxed fork servers.

    ``isolation`` is ``"auto"`` (the strongest that works here: bwrap, then unshare, then
    rlimits only) or one of those names to insist on it. After start-up ``self.isolation`` names
    the level in effect and ``self.isolation_description`` says what it guarantees.

    Thread-safe: ``execute`` may be called from many threads; at most ``workers`` programs run at
    once, the others wait for a free fork server. Results are cached by (code, limits), and
    concurrent calls for the same code share one execution.
    """

    def __init__(
        self,
        limits: SandboxLimits = SandboxLimits(),
        workers: int | None = None,
        *,
        isolation: str = "auto",
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.limits = limits
        self.workers = workers or default_workers()
        self._cache = ExecutionCache(cache_bytes)
        self._lock = threading.Lock()
        self._inflight: dict[str, Future] = {}
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._closed = False
        self._counts = {"executions": 0, "worker_restarts": 0}
        self._launch, first = _start_first(isolation, limits, tuple(preload), startup_timeout_s)
        self.isolation = self._launch.isolation
        # The uid the code runs as (None: the calling user's); the server may refuse to drop.
        self.child_uid: int | None = first.hello.get("child_uid")
        self.isolation_description = f"{self._launch.description}; code runs {self._runs_as()}"
        try:
            self._workers = [first] + self._start_rest(startup_timeout_s)
        except BaseException:
            first.kill()
            self._remove_scratch()
            raise
        for worker in self._workers:
            self._idle.put(worker)
        self._threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sandbox")
        log = logger.info if self.isolation == "bwrap" else logger.warning
        log("sandbox isolation: %s (%s); %d workers", self.isolation, self.isolation_description, self.workers)

    def _runs_as(self) -> str:
        planned = self._launch.zygote_config.get("child_uid")
        if self.child_uid is not None:
            return f"as uid {self.child_uid}"
        if planned is not None:
            return f"AS ROOT: uid {planned} cannot read the Python installation"
        return "as the calling user"

    def _start_rest(self, startup_timeout_s: float) -> list[Worker]:
        rest = [Worker(self._launch, startup_timeout_s) for _ in range(self.workers - 1)]
        for worker in rest:
            worker.spawn()  # all start at once; the handshakes below wait for them together
        try:
            for worker in rest:
                worker.wait_ready()
        except WorkerStartError:
            for worker in rest:
                worker.kill()
            raise
        return rest

    # --- Executor protocol --------------------------------------------------------------------

    def execute(self, code: str, limits: SandboxLimits | None = None) -> ExecutionResult:
        """Run ``code`` in a fresh sandboxed child; failures are results, never exceptions."""
        self._check_open()
        limits = limits or self.limits
        key = cache_key(code, limits)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        future, owner = self._claim(key)
        if not owner:
            return future.result()
        try:
            result = self._run(code, limits)
            self._cache.put(key, result)
            future.set_result(result)
        except BaseException as exc:  # hand any failure to the threads waiting on this key too
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._inflight[key]
        return result

    def execute_many(self, codes: Sequence[str], limits: SandboxLimits | None = None) -> list[ExecutionResult]:
        """Run all ``codes`` in parallel over the pool; results keep the input order."""
        self._check_open()
        futures = [self._threads.submit(self.execute, code, limits) for code in codes]
        return [future.result() for future in futures]

    # --- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Kill every fork server. Idempotent; executions still running return an error."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._threads.shutdown(wait=False, cancel_futures=True)
        idle = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in idle:
            worker.kill()  # busy ones are killed by their thread when it hands them back
            self._idle.put(worker)
        self._remove_scratch()

    def __enter__(self) -> SandboxExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __getstate__(self):
        # Processes and locks do not travel: build the executor where it is used (in Beam, in
        # DoFn.setup) rather than pickling one along with a DoFn.
        raise TypeError("SandboxExecutor cannot be pickled; create it in the process that uses it")

    def stats(self) -> dict:
        """Counters: cache hits/misses/entries, executions run, fork servers restarted."""
        with self._lock:
            counts = dict(self._counts)
        return {
            "isolation": self.isolation,
            "workers": self.workers,
            "cache_hits": self._cache.hits,
            "cache_misses": self._cache.misses,
            "cache_entries": len(self._cache),
            **counts,
        }

    def clear_cache(self) -> None:
        self._cache.clear()

    # --- internals ----------------------------------------------------------------------------

    def _remove_scratch(self) -> None:
        if self._launch.scratch_dir:
            shutil.rmtree(self._launch.scratch_dir, ignore_errors=True)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("SandboxExecutor is closed")

    def _claim(self, key: str) -> tuple[Future, bool]:
        """The future for ``key`` and whether this thread owns (must run) it."""
        with self._lock:
            self._check_open()
            future = self._inflight.get(key)
            if future is not None:
                return future, False
            future = self._inflight[key] = Future()
            return future, True

    def _run(self, code: str, limits: SandboxLimits) -> ExecutionResult:
        worker = self._idle.get()
        try:
            self._check_open()
            return self._run_on(worker, code, limits)
        finally:
            if self._closed:
                worker.kill()
            self._idle.put(worker)

    def _run_on(self, worker: Worker, code: str, limits: SandboxLimits) -> ExecutionResult:
        start = time.monotonic()
        try:
            worker.ensure_ready()
        except (WorkerStartError, OSError) as exc:
            logger.error("sandbox worker could not restart: %s", exc)
            return failure_result("sandbox_error", f"sandbox worker could not start: {exc}", start)
        result = worker.run(code, limits)
        with self._lock:
            self._counts["executions"] += 1
        if worker.proc is None or is_worker_failure(result):
            self._respawn(worker)
        return result

    def _respawn(self, worker: Worker) -> None:
        """Start the replacement now so its start-up overlaps other work; handshake on next use."""
        with self._lock:
            self._counts["worker_restarts"] += 1
        try:
            worker.spawn()
        except OSError as exc:
            logger.error("sandbox worker respawn failed: %s", exc)


def _start_first(
    isolation: str, limits: SandboxLimits, preload: tuple[str, ...], startup_timeout_s: float
) -> tuple[LaunchPlan, Worker]:
    """Start one fork server at the strongest isolation that works (or the one asked for)."""
    candidates = ISOLATION_ORDER if isolation == "auto" else (isolation,)
    errors = []
    for name in candidates:
        try:
            launch = plan(name, limits, preload)
        except (OSError, ValueError) as exc:
            errors.append(f"{name}: {exc}")
            continue
        worker = Worker(launch, startup_timeout_s)
        try:
            worker.spawn()
            worker.wait_ready()
        except (WorkerStartError, OSError) as exc:
            errors.append(f"{name}: {exc}")
            if launch.scratch_dir:
                shutil.rmtree(launch.scratch_dir, ignore_errors=True)
            if isolation == "auto":
                logger.warning("sandbox isolation %s unavailable: %s", name, exc)
            continue
        return launch, worker
    raise RuntimeError("no sandbox isolation could start: " + "; ".join(errors))
