"""The child side of the fork server: a pre-forked "spare" that waits for one request.

Everything here runs in a process forked from ``zygote.py`` and ends in ``os._exit``: it never
returns into the server's loop. Standard library only, like the server.
"""

from __future__ import annotations

import atexit
import builtins
import ctypes
import functools
import linecache
import math
import os
import resource
import signal
import struct
import sys
import traceback
import types

MIB = 1024 * 1024
# Exit status of a child whose sandbox set-up failed (the user's code never ran).
SETUP_FAILED = 125
SETUP_MARKER = "treemill-sandbox: set-up failed: "
STEP_FILENAME = "<step>"
# The child reports its exit status on its status pipe as one of these, just before exiting.
STATUS = struct.Struct(">i")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    """``prctl(2)`` with one argument; raises ``OSError`` on failure."""
    if _libc().prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value}) failed")


def spare_main(read_request, ctrl_r: int, status_w: int, out_w: int, err_w: int, config: dict, nproc_base: int):
    """Body of a spare: detach, wait for the request on ``ctrl_r``, run it, exit. Never returns.

    ``read_request(fd)`` reads one request frame (None when the server discards the spare).
    """
    try:
        os.setsid()  # own process group: a timeout kills the whole group
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the fork server
        _redirect_stdio(out_w, err_w)
        _close_fds_except({0, 1, 2, ctrl_r, status_w})  # the server's pipes and other children's
        request = read_request(ctrl_r)
        if request is None:
            os._exit(0)
        os.close(ctrl_r)
        _setup(request["limits"], config, request["workdir"], nproc_base)
    except BaseException as exc:  # anything at all: this process must never return to the loop
        _write_all(2, f"{SETUP_MARKER}{type(exc).__name__}: {exc}\n".encode())
        os._exit(SETUP_FAILED)
    status = 1  # if even reporting the user's error fails
    try:
        status = run_user_code(request["code"])
        _report(status_w, status)
    finally:
        os._exit(status)


def _redirect_stdio(out_w: int, err_w: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    for fd in (devnull, out_w, err_w):
        if fd > 2:
            os.close(fd)


def _close_fds_except(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep) + [resource.getrlimit(resource.RLIMIT_NOFILE)[0]]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def _setup(limits: dict, config: dict, workdir: str, nproc_base: int) -> None:
    os.chdir(workdir)
    if config.get("child_uid") is not None:
        os.setgroups([])
        os.setresgid(config["child_gid"], config["child_gid"], config["child_gid"])
        os.setresuid(config["child_uid"], config["child_uid"], config["child_uid"])
    prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid binary can hand back privileges
    _apply_rlimits(limits, nproc_base)
    _reset_interpreter(workdir)


def _apply_rlimits(limits: dict, nproc_base: int) -> None:
    cpu = math.ceil(limits["cpu_s"])
    pairs = {
        resource.RLIMIT_AS: limits["memory_mb"] * MIB,
        resource.RLIMIT_FSIZE: limits["max_file_mb"] * MIB,
        resource.RLIMIT_NOFILE: limits["max_open_files"],
        resource.RLIMIT_NPROC: nproc_base + limits["max_processes"],
        resource.RLIMIT_CORE: 0,
    }
    for which, value in pairs.items():
        resource.setrlimit(which, (value, value))
    # SIGXCPU at the soft limit, SIGKILL one second later if the program ignores it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _reset_interpreter(workdir: str) -> None:
    """Make the forked interpreter look like a fresh ``python`` started in ``workdir``."""
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.argv = [STEP_FILENAME]
    os.environ.update(HOME=workdir, TMPDIR=workdir)
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = workdir
    atexit._clear()  # handlers registered by the preloaded modules belong to the server
    _reseed()


def _reseed() -> None:
    # A fork copies the server's random state: without this every step draws the same numbers.
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        # An explicit seed: seed() without one goes through SeedSequence, much slower.
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))


def run_user_code(code: str) -> int:
    """Run ``code`` as ``__main__``, as ``python file.py`` would; return the exit status."""
    main_module = types.ModuleType("__main__")
    main_module.__builtins__ = builtins
    main_module.__file__ = STEP_FILENAME
    sys.modules["__main__"] = main_module
    linecache.cache[STEP_FILENAME] = (len(code), None, code.splitlines(True), STEP_FILENAME)
    try:
        exec(compile(code, STEP_FILENAME, "exec"), main_module.__dict__)
        status = 0
    except SystemExit as exc:
        status = _system_exit_status(exc.code)
    except BaseException as exc:  # the user's exception, whatever it is, becomes exit status 1
        _print_user_traceback(exc)
        status = 1
    return _finish(status)


def _system_exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _print_user_traceback(exc: BaseException) -> None:
    """Print the traceback without the frames of this file."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


def _finish(status: int) -> int:
    """Wait for the program's threads, run its atexit handlers and flush, as shutdown would."""
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120  # what CPython returns when the final flush fails
    return status


def _report(status_w: int, status: int) -> None:
    """Tell the server the exit status, and close our output so it sees end of file now."""
    _write_all(status_w, STATUS.pack(status))
    for fd in (1, 2, status_w):
        try:
            os.close(fd)
        except OSError:
            continue


def _write_all(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:
        return
