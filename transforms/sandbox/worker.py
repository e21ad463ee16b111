"""The executor's handle on one fork-server process."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import time

from transforms.protocols import ExecutionResult
from transforms.sandbox import wire
from transforms.sandbox.isolation import LaunchPlan
from transforms.sandbox.limits import SandboxLimits

logger = logging.getLogger(__name__)

# How long past its own deadline a fork server may take to answer before we kill it: it needs
# a moment to kill the child's process tree and clean up, longer on a loaded machine.
REPLY_GRACE_S = 10.0
WORKER_DIED = "sandbox worker died"
WORKER_HUNG = "sandbox worker did not reply"


class WorkerStartError(RuntimeError):
    """The fork server did not start or did not answer its handshake."""


class Worker:
    """One fork server. Not thread-safe: the executor lends each worker to one thread at a time."""

    def __init__(self, launch: LaunchPlan, startup_timeout_s: float = 60.0) -> None:
        self.launch = launch
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen | None = None
        self.ready = False
        self.starts = 0
        self.hello: dict = {}
        self._log = None

    # --- life cycle -------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the process without waiting for it (``wait_ready`` does the handshake)."""
        self.kill()
        # Its stderr goes to a file, never a pipe: nobody has to drain it, so it can never block.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(self.launch.env),
            start_new_session=True,  # one process group to kill: bwrap/unshare and the server
            close_fds=True,
        )
        self.ready = False
        self.starts += 1

    def wait_ready(self) -> None:
        """Read the fork server's hello; raise ``WorkerStartError`` if it does not come."""
        if self.ready:
            return
        if self.proc is None:
            self.spawn()
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            hello = wire.read_frame(self.proc.stdout.fileno(), deadline)
        except (wire.FrameTimeout, EOFError, OSError, ValueError) as exc:
            hello = None
            detail = f"{type(exc).__name__}: {exc}"
        else:
            detail = "no hello frame"
        if not hello or not hello.get("ready"):
            message = f"{self.launch.isolation} fork server failed to start ({detail}): {self.stderr_tail()}"
            self.kill()
            raise WorkerStartError(message)
        self.hello = hello
        self.ready = True

    def ensure_ready(self) -> None:
        """Make sure a live, handshaken fork server is behind this handle."""
        if self.proc is None or self.proc.poll() is not None:
            self.spawn()
        self.wait_ready()

    def kill(self) -> None:
        """Kill the whole process group (bwrap, its PID namespace, the server, its children)."""
        proc, self.proc, self.ready = self.proc, None, False
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # already gone
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of the fork server's own stderr, for error messages."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        return self._log.read().decode("utf-8", "replace").strip()

    # --- one execution ----------------------------------------------------------------------

    def run(self, code: str, limits: SandboxLimits) -> ExecutionResult:
        """Execute ``code`` on this fork server. Never raises for anything the code does."""
        start = time.monotonic()
        deadline = start + limits.timeout_s + REPLY_GRACE_S
        try:
            wire.write_frame(self.proc.stdin.fileno(), {"code": code, "limits": limits.to_wire()})
            reply = wire.read_frame(self.proc.stdout.fileno(), deadline)
        except wire.FrameTimeout:
            self.kill()
            return failure_result("timeout", f"{WORKER_HUNG} within {limits.timeout_s + REPLY_GRACE_S:.0f} s", start)
        except (OSError, EOFError, ValueError):
            reply = None
        if reply is None:
            # EOF: the server died under this execution (e.g. the code killed its parent).
            logger.warning("sandbox fork server died: %s", self.stderr_tail() or "(no stderr)")
            self.kill()
            return failure_result("killed", WORKER_DIED, start)
        if reply.pop("retire", False):
            self.kill()  # it could not clean up after the child; the result itself stands
        return ExecutionResult(**reply)


def is_worker_failure(result: ExecutionResult) -> bool:
    """Whether the result reports the fork server failing rather than the code."""
    return (result.reason or "").startswith((WORKER_DIED, WORKER_HUNG))


def failure_result(status: str, reason: str, start: float) -> ExecutionResult:
    """A result for an execution that failed in the sandbox machinery, timed from ``start``."""
    return ExecutionResult(
        status=status,
        exit_code=None,
        stdout="",
        stderr="",
        truncated=False,
        elapsed_s=round(time.monotonic() - start, 6),
        reason=reason,
    )
