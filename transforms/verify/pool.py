"""A pool of symbolic worker processes with a wall-clock timeout per call.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot kill one stuck task (a worker killed
under it breaks the whole pool), and ``multiprocessing`` start methods either fork a threaded
process (unsafe in Beam) or re-import ``__main__``. Each worker here is a plain
``subprocess.Popen`` of ``python -m transforms.verify._worker`` speaking JSON lines: a call that
overruns its time is answered ``timeout`` and its worker is killed; the next call starts a fresh one.
No ``signal.alarm`` anywhere, so calls may come from any thread.
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]  # so workers import this checkout's package
_STARTUP_TIMEOUT_S = 120.0


class WorkerError(RuntimeError):
    """A worker could not start, or died without answering."""


class _Worker:
    """One worker process and the buffered reading of its answers."""

    def __init__(self, memory_mb: int):
        """Start the process and wait (not counted against any check) until it is ready."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "transforms.verify._worker", str(memory_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=str(_REPO_ROOT), env=env, start_new_session=True,
            )
        except OSError as exc:  # out of processes or file descriptors
            raise WorkerError(f"cannot start a symbolic worker: {exc}") from exc
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            ready = self._read_line(time.monotonic() + _STARTUP_TIMEOUT_S)
        except WorkerError:
            ready = None
        if ready is None or _decode(ready).get("ready") is not True:
            self.kill()
            raise WorkerError("symbolic worker did not start")

    def call(self, request: dict, timeout_s: float) -> dict | None:
        """Send one request; its answer, or None when ``timeout_s`` passed first."""
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"symbolic worker is gone: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._read_line(deadline)
            if line is None:
                return None
            answer = _decode(line)
            if answer.get("id") == request["id"]:
                return answer

    def _read_line(self, deadline: float) -> str | None:
        """Next protocol line, or None at the deadline; raises if the worker exited."""
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self._selector.select(left):
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise WorkerError(f"symbolic worker exited with {self.proc.poll()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """Kill the process (SIGKILL: a worker stuck in C code ignores gentler signals) and reap it."""
        self._selector.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass  # the pipe broke with the process; nothing left to release

    def close(self) -> None:
        """Ask the worker to exit (end of input), then make sure it did."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=0.2)
        except (OSError, subprocess.TimeoutExpired):
            pass  # it did not leave on its own; kill() below settles it
        self.kill()


def _decode(line: str) -> dict:
    """A protocol line as a dict; anything else (stray output) as an empty dict, which is skipped."""
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class SymbolicPool:
    """Up to ``size`` workers shared by any number of threads; started lazily, one per need."""

    def __init__(self, size: int = 2, memory_mb: int = 2048):
        """No process starts here: the first ``call`` starts the first worker."""
        self.size = size
        self.memory_mb = memory_mb
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0  # workers started or starting, idle or busy
        self._closed = False
        self._ids = itertools.count()
        self.started = 0  # workers started over the pool's life
        self.killed = 0  # workers killed after a timeout or a crash
        self.startup_s = 0.0  # seconds spent starting workers (not part of any check's budget)

    def call(self, pred: str, gold: str, options: dict, timeout_s: float, kind: str = "compare") -> dict:
        """Compare on a worker within ``timeout_s`` seconds of compute.

        ``kind`` is ``compare`` (``symbolic.compare``) or ``math_verify`` (``symbolic.math_verify_compare``).
        Returns the worker's answer, ``{"equal": None, "rule": "timeout"}`` when time ran out (the
        worker is killed), or ``{"equal": None, "rule": "worker_error"}`` when it died.
        """
        worker = self._acquire()
        request = {"id": next(self._ids), "kind": kind, "pred": pred, "gold": gold, "options": options,
                   "timeout_s": timeout_s}
        try:
            answer = worker.call(request, timeout_s)
        except WorkerError as exc:
            self._discard(worker, failed=True)
            return {"equal": None, "rule": "worker_error", "error": str(exc)}
        if answer is None:
            self._discard(worker, failed=True)
            return {"equal": None, "rule": "timeout"}
        self._release(worker)
        return answer

    def _acquire(self) -> _Worker:
        """An idle worker, a newly started one if below ``size``, or wait for one to free up."""
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerError("the symbolic pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                self._cond.wait()
        began = time.monotonic()
        try:
            worker = _Worker(self.memory_mb)  # outside the lock: starting takes about a second
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.started += 1
            self.startup_s += time.monotonic() - began
        return worker

    def _release(self, worker: _Worker) -> None:
        """Return a healthy worker to the idle list (or stop it if the pool closed meanwhile)."""
        with self._cond:
            if not self._closed and worker.alive():
                self._idle.append(worker)
                self._cond.notify()
                return
        self._discard(worker)

    def _discard(self, worker: _Worker, failed: bool = False) -> None:
        """Kill a worker (stuck, dead, or returned after ``close``) and free its slot."""
        worker.kill()
        with self._cond:
            self._live -= 1
            self.killed += int(failed)
            self._cond.notify()

    @property
    def live_workers(self) -> int:
        """Workers currently started (idle or busy)."""
        with self._cond:
            return self._live

    def close(self) -> None:
        """Stop idle workers now; busy ones are stopped when their call returns. Idempotent."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def __enter__(self) -> "SymbolicPool":
        """Use as ``with SymbolicPool() as pool:``; workers stop on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Close the pool."""
        self.close()
