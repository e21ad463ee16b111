"""The fork server: runs inside the sandbox, hands each execution to a disposable child.

Started by ``transforms.sandbox.worker`` as ``python -I -B zygote.py CONFIG_JSON`` (inside
bubblewrap or ``unshare`` when available). It imports the common math modules once, then loops:
read a request frame on stdin, pass it to a "spare" child forked ahead of time (the fork is
off the critical path: the next spare is forked right after each reply), collect the
child's output with a cap and a wall-clock deadline, make sure nothing the child started is
left alive, and write a result frame on stdout. The model's code only ever runs in the child.

This file is the start-up and the request loop; the rest lives beside it:
``fork_server.py`` (the spare children and the accounting of every process below the server),
``run_watch.py`` (watching one run and classifying its outcome), ``process_tree.py`` (finding
and killing descendants through /proc), ``child.py`` (the child's side) and ``wire.py``
(the frames).

Standard library only (plus the preloaded modules): the treemill package is not importable here.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys

if __name__ == "__main__":
    # -I keeps the script's folder off sys.path; the modules listed above sit beside this file.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import child
    import fork_server
    import wire

    del sys.path[0]


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
    server = fork_server.ForkServer(config, fork_server.count_processes(config.get("child_uid")))
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


if __name__ == "__main__":
    sys.exit(main(sys.argv))
