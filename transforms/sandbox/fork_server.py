"""The fork server's state: the spare child forked ahead of each request, and every process below.

``ForkServer.serve`` hands a request to the spare (the fork is off the critical path: the next
spare is forked in ``tidy``, after the reply), watches the run with ``run_watch.Watch``, and
keeps count of the children it has killed but not yet reaped. ``tidy`` then kills any late
stray and empties the run folders while the caller already has its reply.

Standard library only: ``zygote.py`` imports this file inside the sandbox, with this folder on
``sys.path`` (as ``fork_server``); the treemill package is not importable there.
"""

from __future__ import annotations

import os
import select
import shutil
import time

import child
import process_tree
import wire
from run_watch import Watch

KILL_ROUNDS_S = 2.0


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
        return process_tree.descendants(os.getpid(), skip={self.spare_pid()} | self.dying)

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
            process_tree.kill(pids)
            time.sleep(0.0005)

    def quiet(self, pid: int) -> bool:
        """Whether child ``pid`` left no process behind: no child of its own, no orphan of ours."""
        self.reap()
        theirs = set() if pid in self.reaped else process_tree.children(pid)
        if theirs is None:  # it exited between the two looks
            self.reap()
            theirs = set() if pid in self.reaped else None
        mine = process_tree.children(os.getpid())  # after theirs: orphans move from there to here
        if theirs is None or mine is None:
            return False
        return not theirs and mine <= {pid, self.spare_pid()} | self.dying


def count_processes(uid: int | None) -> int:
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
