"""The processes below a given one, read from /proc, and how the fork server kills them.

A program may fork, daemonize or start threads that fork; the fork server must find every
process it left behind, even those re-parented to the server as orphans (it is a child
subreaper), and SIGKILL them before it replies. ``children`` reads the kernel's per-thread
children lists; ``descendants`` walks them, or scans every /proc/PID/stat where the kernel has
no such lists.

Standard library only: ``zygote.py`` imports this file inside the sandbox, with this folder on
``sys.path`` (as ``process_tree``); the treemill package is not importable there.
"""

from __future__ import annotations

import os
import signal


def children(pid: int) -> set[int] | None:
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


def descendants(root: int, skip: set[int]) -> list[int]:
    """Processes below ``root`` (not below those in ``skip``), from /proc children lists."""
    kids = children(root)
    if kids is None:
        return descendants_by_scan(root, skip)
    found, todo = [], [pid for pid in kids if pid not in skip]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children(pid) or ())
    return found


def descendants_by_scan(root: int, skip: set[int]) -> list[int]:
    """The same from every /proc/PID/stat, for kernels without children lists."""
    children_of: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children_of.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid for pid in children_of.get(root, []) if pid not in skip]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children_of.get(pid, []))
    return found


def kill(pids: list[int]) -> None:
    """SIGKILL each of ``pids``; one already gone (or not ours to kill) is skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``, and ``pid`` itself should it have left it."""
    for kill_call in (os.killpg, os.kill):
        try:
            kill_call(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
