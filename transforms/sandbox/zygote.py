"""The fork server: runs inside the sandbox, hands each execution to a disposable child.

Started by ``transforms.sandbox.worker`` as ``python -I -B zygote.py CONFIG_JSON`` (inside
bubblewrap or ``unshare`` when available). It imports the common math modules once, then loops:
read a request frame on stdin, pass it to a "spare" child forked ahead of time (the fork is
off the critical path: the next spare is forked right after each reply), collect the
child's output with a cap and a wall-clock deadline, make sure nothing the child started is
left alive, and write a result frame on stdout. The model's code only ever runs in the child.

Standard library only (plus the preloaded modules): the treemill package is not importable here.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import os
import select
import shutil
import signal
import sys
import time

if __name__ == "__main__":
    # -I keeps the script's folder off sys.path; wire.py and child.py sit beside this file.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import child
    import wire

    del sys.path[0]

READ_CHUNK = 64 * 1024
# A program may print this many times its output cap (we drop the excess) before it is killed.
DRAIN_FACTOR = 16
KILL_ROUNDS_S = 2.0


# ------------------------------------------------------------------------------------------
# Start-up
# ------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """Serve requests until stdin closes."""
    config = json.loads(argv[1])
    proto_in, proto_out = _take_protocol_fds()
    child.prctl(child.PR_SET_CHILD_SUBREAPER, 1)  # orphans of a child come back to us
    loaded = _preload(config.get("preload", []))
    if config.get("child_uid") is not None and not _uid_can_run_python(config):
        config.update(child_uid=None, child_gid=None)  # reported in the hello; the executor warns
    server = ForkServer(config, _count_processes(config.get("child_uid")))
    gc.freeze()  # children never touch the preloaded heap's GC headers: less copy-on-write
    server.refill()
    hello = {"ready": True, "pid": os.getpid(), "loaded": loaded, "child_uid": config.get("child_uid")}
    wire.write_frame(proto_out, hello)
    while True:
        server.idle_until_readable(proto_in)
        request = wire.read_frame(proto_in)
        if request is None:
            return 0
        reply = server.serve(request["code"], request["limits"])
        wire.write_frame(proto_out, reply)
        if reply.get("retire"):
            return 3
        server.tidy()  # after the reply: the caller does not wait for this


def _take_protocol_fds() -> tuple[int, int]:
    """Move the request/reply pipes off fds 0/1 so a stray print cannot corrupt a frame."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return proto_in, proto_out


def _preload(modules: list[str]) -> list[str]:
    """Import the modules every step is likely to use, and warm their lazy first calls."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        loaded.append(name)
    if "sympy" in loaded:
        _warm_sympy()
    if "numpy" in loaded:
        # The first seed() of the global RandomState costs ~11 ms; each child reseeds it.
        sys.modules["numpy"].random.seed(0)
    return loaded


def _warm_sympy() -> None:
    # solve/simplify import dozens of submodules on first use; pay that once, here.
    import sympy

    x = sympy.Symbol("x")
    sympy.solve(x**2 - 1, x)
    sympy.simplify(sympy.sin(x) ** 2 + sympy.cos(x) ** 2)
    sympy.Rational(1, 3) + sympy.sqrt(2)


def _uid_can_run_python(config: dict) -> bool:
    """Whether the unprivileged uid can read the standard library (not so under a 0700 /root)."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.setgroups([])
            os.setresgid(config["child_gid"], config["child_gid"], config["child_gid"])
            os.setresuid(config["child_uid"], config["child_uid"], config["child_uid"])
            os.listdir(os.path.dirname(os.__file__))
            status = 0
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0


def _count_processes(uid: int | None) -> int:
    """Processes this uid already owns where we can see them (RLIMIT_NPROC counts them too)."""
    uid = os.getuid() if uid is None else uid
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                count += os.stat(f"/proc/{name}").st_uid == uid
            except OSError:
                continue
    return count


# ------------------------------------------------------------------------------------------
# The server and its children
# ------------------------------------------------------------------------------------------


class Spare:
    """A child forked ahead of its request, blocked reading it from ``ctrl_w``'s pipe."""

    def __init__(self, config: dict, nproc_base: int) -> None:
        ctrl_r, self.ctrl_w = os.pipe()
        self.status_r, status_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.err_r, err_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            child.spare_main(wire.read_frame, ctrl_r, status_w, out_w, err_w, config, nproc_base)
        for fd in (ctrl_r, status_w, out_w, err_w):
            os.close(fd)

    def send(self, code: str, limits: dict, workdir: str) -> None:
        """Hand over the request; the spare starts running it at once."""
        wire.write_frame(self.ctrl_w, {"code": code, "limits": limits, "workdir": workdir})
        os.close(self.ctrl_w)
        self.ctrl_w = -1

    def close(self) -> None:
        for fd in (self.ctrl_w, self.status_r, self.out_r, self.err_r):
            if fd >= 0:
                os.close(fd)
        self.ctrl_w = self.status_r = self.out_r = self.err_r = -1


class ForkServer:
    """Runs requests on spares and keeps track of every process below it."""

    def __init__(self, config: dict, nproc_base: int) -> None:
        self.config = config
        self.nproc_base = nproc_base
        self.spare: Spare | None = None
        self.dying: set[int] = set()  # children SIGKILLed on the fast path, not yet reaped
        self.running_pid = -1
        self.reaped: dict[int, tuple] = {}  # exit of the running child, if reap() got it first
        self.workdirs: list[str] = []  # run folders to remove once the reply is out

    def refill(self) -> None:
        if self.spare is None:
            self.spare = Spare(self.config, self.nproc_base)

    def serve(self, code: str, limits: dict) -> dict:
        """Run one request and describe the outcome (the fields of ``ExecutionResult``)."""
        self.reap()  # a spare that died while waiting is forgotten here
        self.refill()
        running, self.spare = self.spare, None
        self.running_pid = running.pid
        workdir = self._make_workdir()
        start = time.monotonic()
        try:
            running.send(code, limits, workdir)
        except OSError:
            pass  # the spare died; the watch sees it exit
        watch = Watch(running, limits, self)
        watch.run(start + limits["timeout_s"])
        reply = watch.result(time.monotonic() - start)
        running.close()
        self.running_pid = -1
        self.reaped.clear()
        self.workdirs.append(workdir)
        if not watch.clean:
            reply["retire"] = True  # something survived SIGKILL rounds: start a fresh worker
        return reply

    def tidy(self) -> None:
        """Reap, kill any late stray (e.g. forked by a thread after the fast path looked), and
        remove run folders: done after the reply is sent, so the caller does not wait."""
        self.reap()
        if self.others():
            self.kill_descendants()
        for workdir in self.workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
        self.workdirs.clear()
        for root in self.config.get("wipe", []):
            _empty_dir(root)
        # The next spare is forked now, not while the code runs: no spare exists then that a
        # program running as the same uid could kill (kill(-1, SIGKILL)) or trip over.
        self.refill()

    def idle_until_readable(self, fd: int) -> None:
        """Wait for the next request, reaping fast-path children as they finish exiting."""
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while self.dying and not poller.poll(20):
            self.reap()

    def _make_workdir(self) -> str:
        path = os.path.join(self.config["scratch"], f"run-{os.getpid()}-{time.monotonic_ns()}")
        os.mkdir(path, 0o700)
        if self.config.get("child_uid") is not None:
            os.chown(path, self.config["child_uid"], self.config["child_gid"])
        return path

    def reap(self) -> None:
        """Reap every exited child (the running child's exit is kept for ``collect``)."""
        while True:
            try:
                pid, status, usage = os.wait3(os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._forget(pid, status, usage)

    def _forget(self, pid: int, status: int, usage) -> None:
        self.dying.discard(pid)
        if pid == self.running_pid:
            self.reaped[pid] = (status, usage)  # the watch asks for it with collect()
        elif self.spare is not None and pid == self.spare.pid:
            self.spare.close()
            self.spare = None

    def collect(self, pid: int, block: bool):
        """``(wait status, rusage)`` of child ``pid`` once it has exited, else None."""
        if pid in self.reaped:
            return self.reaped.pop(pid)
        try:
            got, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return None
        return (status, usage) if got == pid else None

    def spare_pid(self) -> int:
        return self.spare.pid if self.spare is not None else -1

    def others(self) -> list[int]:
        """Processes below us other than the spare and the children already killed."""
        return _descendants(os.getpid(), skip={self.spare_pid()} | self.dying)

    def kill_descendants(self) -> bool:
        """SIGKILL every process in ``others()`` until none is left; False if some survive."""
        end = time.monotonic() + KILL_ROUNDS_S
        while True:
            self.reap()
            pids = self.others()
            if not pids:
                return True
            if time.monotonic() > end:
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    continue
            time.sleep(0.0005)

    def quiet(self, pid: int) -> bool:
        """Whether child ``pid`` left no process behind: no child of its own, no orphan of ours."""
        self.reap()
        theirs = set() if pid in self.reaped else _children(pid)
        if theirs is None:  # it exited between the two looks
            self.reap()
            theirs = set() if pid in self.reaped else None
        mine = _children(os.getpid())  # after theirs: orphans move from there to here
        if theirs is None or mine is None:
            return False
        return not theirs and mine <= {pid, self.spare_pid()} | self.dying


def _children(pid: int) -> set[int] | None:
    """Children of every thread of ``pid`` from /proc; None if that is not readable."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        found: set[int] = set()
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.update(int(word) for word in handle.read().split())
        return found
    except (OSError, ValueError):
        return None


def _descendants(root: int, skip: set[int]) -> list[int]:
    """Processes below ``root`` (not below those in ``skip``), from /proc children lists."""
    kids = _children(root)
    if kids is None:
        return _descendants_by_scan(root, skip)
    found, todo = [], [pid for pid in kids if pid not in skip]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(_children(pid) or ())
    return found


def _descendants_by_scan(root: int, skip: set[int]) -> list[int]:
    """The same from every /proc/PID/stat, for kernels without children lists."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid for pid in children.get(root, []) if pid not in skip]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _empty_dir(root: str) -> None:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                continue


# ------------------------------------------------------------------------------------------
# Watching one child
# ------------------------------------------------------------------------------------------


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
            self._kill_group()  # it reported and closed its output: it is on its way out
            self.server.dying.add(self.pid)
        if finished:
            return
        if self.wait_status is None:
            self._kill_group()
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
                self._kill_group()
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

    def _kill_group(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue

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


if __name__ == "__main__":
    sys.exit(main(sys.argv))
