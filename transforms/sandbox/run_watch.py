"""The watch over one run: collect a child's output, enforce its deadline, classify the outcome.

The fork server hands each request to a spare child and then watches it with ``Watch``: it reads
the child's stdout and stderr up to the output cap (and kills a program that floods them), kills
it at the wall-clock deadline, makes sure nothing it started is left alive, and turns what
happened into the reply frame (the fields of ``ExecutionResult``: ok, error, timeout, killed, or
sandbox_error when the child's set-up failed before the program ran).

Standard library only: ``zygote.py`` imports this file inside the sandbox, with this folder on
``sys.path`` (as ``run_watch``); the treemill package is not importable there.
"""

from __future__ import annotations

import math
import os
import select
import signal
import time

import child
import process_tree

TYPE_CHECKING = False  # not from typing: the fork server's start-up imports only what it uses
if TYPE_CHECKING:
    from fork_server import ForkServer, Spare

READ_CHUNK = 64 * 1024
# A program may print this many times its output cap (we drop the excess) before it is killed.
DRAIN_FACTOR = 16


class Watch:
    """Collects a child's output with a cap until it finishes or its deadline passes.

    Fast path: the child reports its exit status and closes its output, and has started no
    process: the reply goes out while the kernel is still tearing the child down. Otherwise
    (the child died abruptly or left processes behind) we wait for it to exit, then kill its
    process group and every descendant before replying.
    """

    def __init__(self, running: Spare, limits: dict, server: ForkServer) -> None:
        self.running, self.pid, self.server = running, running.pid, server
        self.limits = limits
        self.cap = limits["max_output_bytes"]
        self.kill_after = self.cap * DRAIN_FACTOR
        self.data = {running.out_r: bytearray(), running.err_r: bytearray()}
        self.seen = {running.out_r: 0, running.err_r: 0}
        self.reported: int | None = None
        self.wait_status: int | None = None
        self.cpu_s = 0.0
        self.timed_out = self.flooded = False
        self.clean = True

    def run(self, deadline: float) -> None:
        """Read until the child is done, or kill it at the deadline or on an output flood."""
        pidfd = _pidfd_open(self.pid)
        poller = select.poll()
        for fd in (*self.data, self.running.status_r, pidfd):
            if fd is not None:
                poller.register(fd, select.POLLIN)
        try:
            finished = self._loop(poller, pidfd, deadline)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        if finished and not self._reap(block=False):
            process_tree.kill_group(self.pid)  # it reported and closed its output: it is on its way out
            self.server.dying.add(self.pid)
        if finished:
            return
        if self.wait_status is None:
            process_tree.kill_group(self.pid)
            self._reap(block=True)
        self.clean = self.server.kill_descendants()

    def _loop(self, poller, pidfd: int | None, deadline: float) -> bool:
        """True when the child finished on the fast path (reported, output closed, quiet)."""
        open_fds = set(self.data) | {self.running.status_r}
        while open_fds or self.wait_status is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                return False
            # Without a pidfd, wake up every 5 ms to check whether the child has exited.
            wait_ms = remaining * 1000 if pidfd is not None else min(remaining * 1000, 5)
            for fd, _ in poller.poll(max(1, math.ceil(wait_ms))):
                if fd == pidfd:
                    poller.unregister(pidfd)
                    self._on_exit()
                elif not self._read(fd):
                    poller.unregister(fd)
                    open_fds.discard(fd)
                if self.flooded:
                    return False
            if pidfd is None and self.wait_status is None and self._has_exited():
                self._on_exit()
            if not open_fds and self.reported is not None and self.wait_status is None and self.server.quiet(self.pid):
                return True
        return False

    def _on_exit(self) -> None:
        """The child is gone: kill what it left behind so the pipes reach end of file."""
        if self.wait_status is None:
            # Its process group before reaping it: until then its pid cannot be reused.
            if self.pid not in self.server.reaped:
                process_tree.kill_group(self.pid)
            self._reap(block=True)
        self.clean = self.server.kill_descendants()

    def _has_exited(self) -> bool:
        """Whether the child has exited, without reaping it (for kernels without pidfd)."""
        if self.pid in self.server.reaped:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def _read(self, fd: int) -> bool:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return False
        if fd == self.running.status_r:
            if len(chunk) >= child.STATUS.size:
                (self.reported,) = child.STATUS.unpack(chunk[: child.STATUS.size])
            return True
        self.seen[fd] += len(chunk)
        room = self.cap - len(self.data[fd])
        if room > 0:
            self.data[fd] += chunk[:room]
        if self.seen[fd] > self.kill_after:
            self.flooded = True
        return True

    def _reap(self, block: bool) -> bool:
        exited = self.server.collect(self.pid, block)
        if exited is None:
            return False
        self.wait_status, usage = exited
        self.cpu_s = usage.ru_utime + usage.ru_stime
        return True

    def result(self, elapsed: float) -> dict:
        """The reply frame: the fields of ``ExecutionResult``."""
        out, err = (self.data[fd].decode("utf-8", "replace") for fd in self.data)
        status, exit_code, reason = self._classify(err)
        return {
            "status": status,
            "exit_code": exit_code,
            "stdout": out,
            "stderr": "" if status == "sandbox_error" else err,
            "truncated": any(seen > self.cap for seen in self.seen.values()),
            "elapsed_s": round(elapsed, 6),
            "reason": reason,
        }

    def _classify(self, stderr: str) -> tuple[str, int | None, str | None]:
        code = self.reported if self.wait_status is None else _exit_code(self.wait_status)
        if self.timed_out:
            return "timeout", code, f"wall-clock limit of {self.limits['timeout_s']} s exceeded"
        if self.flooded:
            return "killed", code, f"output limit: printed more than {self.kill_after} bytes"
        if self.wait_status is not None and os.WIFSIGNALED(self.wait_status):
            return self._classify_signal(os.WTERMSIG(self.wait_status), code)
        if code == 0:
            return "ok", 0, None
        if code == child.SETUP_FAILED and stderr.startswith(child.SETUP_MARKER):
            return "sandbox_error", code, stderr.strip()
        return "error", code, _error_line(stderr)

    def _classify_signal(self, signum: int, code: int) -> tuple[str, int, str]:
        cpu_limit = math.ceil(self.limits["cpu_s"])
        if signum == signal.SIGXCPU or (signum == signal.SIGKILL and self.cpu_s >= cpu_limit):
            return "timeout", code, f"CPU time limit of {cpu_limit} s exceeded"
        return "killed", code, f"killed by signal {_signal_name(signum)}"


def _pidfd_open(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _exit_code(wait_status: int) -> int:
    """Like ``subprocess``: the exit status, or minus the signal number."""
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _error_line(stderr: str) -> str | None:
    """The last non-blank line of stderr: for a traceback, the exception and its message."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1].strip()[:500] if lines else None
