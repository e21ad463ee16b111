"""Hostile programs: each must be contained, and the pool must keep serving afterwards.

The isolation-dependent cases (network, writes outside the sandbox, other processes' secrets)
need bubblewrap or namespaces; where this machine only has a weaker level they are skipped with
a reason naming it. CI installs bubblewrap, so there they all run.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from transforms.sandbox import SandboxExecutor

REPO_ROOT = Path(__file__).resolve().parents[3]
FAKE_SECRET = "tm-fake-secret-" + "7f3a9c"


def _needs(executor: SandboxExecutor, what: str, levels: tuple[str, ...], unprivileged_ok: bool = False) -> None:
    """Skip unless the isolation in effect can block ``what``."""
    if executor.isolation in levels or (unprivileged_ok and executor.child_uid is not None):
        return
    pytest.skip(f"isolation here is {executor.isolation!r} ({executor.isolation_description}): cannot block {what}")


def _processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(name))
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone


def _descendants(pid: int) -> list[int]:
    """Every live (not zombie) process below ``pid``, from /proc children lists."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(word) for word in Path(f"/proc/{parent}/task/{task}/children").read_text().split()]
            except OSError:
                continue
            found += [kid for kid in kids if not _is_zombie(kid)]
            todo += kids
    return found


def _most_processes_per_worker(executor: SandboxExecutor) -> int:
    """The largest process count below one worker: a fork server and its spare child is 2."""
    return max(len(_descendants(worker.proc.pid)) for worker in executor._workers if worker.proc is not None)


# --- CPU and time -----------------------------------------------------------------------------


def test_infinite_loop_times_out(executor, hostile, assert_serving):
    result = executor.execute("while True:\n    pass", hostile)
    assert result.status == "timeout"
    assert result.elapsed_s < hostile.timeout_s + 1.5
    assert_serving("infinite loop")


def test_sleeping_past_the_timeout(executor, hostile, assert_serving):
    start = time.monotonic()
    result = executor.execute("import time\nprint('going to sleep', flush=True)\ntime.sleep(60)", hostile)
    assert result.status == "timeout"
    assert result.stdout == "going to sleep\n"  # output before the kill is kept
    assert time.monotonic() - start < hostile.timeout_s + 2
    assert_serving("sleep")


def test_signal_handler_tampering_does_not_stop_the_kill(executor, hostile, assert_serving):
    code = (
        "import signal\n"
        "for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGALRM, signal.SIGUSR1):\n"
        "    signal.signal(sig, signal.SIG_IGN)\n"
        "while True:\n"
        "    pass\n"
    )
    result = executor.execute(code, hostile)
    assert result.status == "timeout"
    assert_serving("signal tampering")


# --- processes --------------------------------------------------------------------------------


def test_fork_bomb_is_contained_and_cleaned_up(executor, hostile, assert_serving):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = executor.execute(code, hostile)
    assert result.status in ("timeout", "killed", "error")
    # Below each worker: its fork server and at most one spare child, nothing of the bomb.
    assert _most_processes_per_worker(executor) <= 2
    assert_serving("fork bomb")


def test_a_child_that_outlives_its_parent_is_gone_after_the_call(executor, assert_serving):
    marker = f"{300 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print('spawned')\n"
    )
    result = executor.execute(code)
    assert result.status == "ok" and result.stdout == "spawned\n"
    assert _processes_with(f"sleep {marker}") == []
    assert_serving("orphan")


def test_a_double_forked_daemon_is_gone_after_the_call(executor, assert_serving):
    marker = f"{400 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '{marker}'])\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "print('daemonized')\n"
    )
    result = executor.execute(code)
    assert result.stdout == "daemonized\n"
    assert _processes_with(f"sleep {marker}") == []
    assert_serving("daemon")


def test_killing_the_parent_process(executor, assert_serving):
    result = executor.execute("import os\nos.kill(os.getppid(), 9)\nprint('survived')")
    # Either the signal is refused (the server runs as another uid, or is PID 1 of its
    # namespace) or the server dies and this execution is reported as killed.
    assert result.status in ("ok", "error", "killed")
    assert_serving("kill parent")
    assert_serving("kill parent, second call")


def test_killing_every_process_it_can_signal(executor, assert_serving):
    # kill(-1) reaches every process of the same uid: only safe where the sandbox has its own
    # PID namespace (or runs the code as a uid that owns nothing else).
    _needs(executor, "kill(-1, SIGKILL) reaching host processes", ("bwrap", "unshare"), unprivileged_ok=True)
    result = executor.execute("import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('still here')")
    assert result.status in ("ok", "error", "killed")
    assert_serving("kill -1")
    assert_serving("kill -1, second call")


def test_sys_exit_and_os_exit_codes(executor):
    assert executor.execute("import sys\nsys.exit(0)").status == "ok"
    exited = executor.execute("import sys\nprint('bye')\nsys.exit(3)")
    assert (exited.status, exited.exit_code, exited.stdout) == ("error", 3, "bye\n")
    message = executor.execute("import sys\nsys.exit('fatal: no answer')")
    assert message.exit_code == 1 and "fatal: no answer" in message.stderr
    hard = executor.execute("import os\nos._exit(7)")
    assert (hard.status, hard.exit_code) == ("error", 7)
    assert executor.execute("import os\nos._exit(0)").status == "ok"


# --- memory, recursion, output, files ---------------------------------------------------------


def test_memory_bomb_hits_the_address_space_limit(executor, hostile, assert_serving):
    big = executor.execute("x = bytearray(8 * 1024 ** 3)\nprint(len(x))")
    assert big.status == "error" and "MemoryError" in big.reason, big
    growing = executor.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 ** 2))", hostile)
    assert growing.status in ("error", "killed", "timeout")
    assert growing.status != "error" or "MemoryError" in growing.reason
    assert_serving("memory bomb")


def test_deep_recursion(executor, hostile, assert_serving):
    plain = executor.execute("def f(n):\n    return f(n + 1)\nf(0)")
    assert plain.status == "error" and "RecursionError" in plain.reason, plain
    unlimited = executor.execute("import sys\nsys.setrecursionlimit(10 ** 8)\ndef f(n):\n    return f(n + 1) + 1\nf(0)", hostile)
    assert unlimited.status in ("error", "killed", "timeout")
    assert_serving("recursion")


def test_printing_a_gigabyte_is_cut_short(executor, assert_serving):
    start = time.monotonic()
    result = executor.execute("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)")
    assert result.status == "killed" and "output limit" in result.reason
    assert result.truncated
    assert len(result.stdout) == executor.limits.max_output_bytes
    assert time.monotonic() - start < executor.limits.timeout_s
    assert_serving("output flood")


def test_large_file_and_many_open_files_hit_their_limits(executor, assert_serving):
    big_file = executor.execute("with open('big.bin', 'wb') as f:\n    f.write(b'0' * (64 * 1024 * 1024))")
    assert big_file.status == "error" and "File too large" in big_file.reason
    many = executor.execute("handles = [open('f%d' % i, 'w') for i in range(10000)]")
    assert many.status == "error" and "Too many open files" in many.reason
    assert_serving("file limits")


def test_writing_to_etc_fails(executor, assert_serving):
    _needs(executor, "writes to /etc", ("bwrap",), unprivileged_ok=True)
    name = f"treemill-attack-{uuid.uuid4().hex}"
    result = executor.execute(f"open('/etc/{name}', 'w').write('pwned')\nprint('wrote')")
    assert result.status == "error"
    assert "wrote" not in result.stdout
    assert not Path("/etc", name).exists()
    assert_serving("/etc write")


def test_writing_to_the_project_directory_fails(executor, assert_serving):
    _needs(executor, "writes to the project directory", ("bwrap",), unprivileged_ok=True)
    target = REPO_ROOT / f"treemill-attack-{uuid.uuid4().hex}.txt"
    result = executor.execute(f"open({str(target)!r}, 'w').write('pwned')\nprint('wrote')")
    assert result.status == "error"
    assert not target.exists()
    assert_serving("project write")


def test_files_do_not_leak_between_executions(executor):
    # Two workers: run enough rounds that both see the write and both check.
    for _ in range(3):
        executor.execute_many(
            ["open('leak.txt', 'w').write('x')\nimport os\nopen('/tmp/leak.txt', 'w').write('x') if os.access('/tmp', os.W_OK) else None"] * 2
        )
    checks = executor.execute_many(
        [f"# {i}\nimport os\nprint(os.path.exists('leak.txt'), os.path.exists('/tmp/leak.txt'), os.listdir('.'))" for i in range(4)]
    )
    if executor.isolation != "bwrap":
        pytest.skip(f"isolation {executor.isolation!r} shares /tmp with the host")
    assert all(check.stdout == "False False []\n" for check in checks), checks


# --- secrets and network ----------------------------------------------------------------------


def test_environment_secrets_are_not_visible(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", FAKE_SECRET)
    monkeypatch.setenv("TREEMILL_API_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    code = (
        "import os\n"
        "print(sorted(os.environ))\n"
        f"print({FAKE_SECRET!r} in repr(dict(os.environ)))\n"
        "leaks = []\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        data = open(f'/proc/{pid}/environ', 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        f"    if {FAKE_SECRET!r}.encode() in data:\n"
        "        leaks.append(pid)\n"
        "print('proc leaks', leaks)\n"
    )
    with SandboxExecutor(workers=1, cache_bytes=0, preload=("math",)) as pool:
        result = pool.execute(code)
        hidden_proc = pool.isolation in ("bwrap", "unshare") or pool.child_uid is not None
    assert result.status == "ok", result
    names, in_env, proc_line = result.stdout.splitlines()
    assert in_env == "False"
    assert "HF_TOKEN" not in names and "TREEMILL_API_KEY" not in names and "AWS_" not in names
    if hidden_proc:
        assert proc_line == "proc leaks []"


def test_no_connection_to_loopback_of_the_host(executor, assert_serving):
    _needs(executor, "network access", ("bwrap", "unshare"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    print('connected')\n"
            "except OSError as exc:\n"
            "    print('blocked', type(exc).__name__)\n"
        )
        result = executor.execute(code)
        assert result.stdout.startswith("blocked"), result
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever reached the host's listener
    assert_serving("loopback")


def test_no_connection_to_an_outside_address(executor, assert_serving):
    _needs(executor, "network access", ("bwrap", "unshare"))
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): documentation-only, never routed anywhere.
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('blocked', type(exc).__name__)\n"
        "print([name for _, name in socket.if_nameindex()])\n"
    )
    result = executor.execute(code)
    assert result.stdout.startswith("blocked"), result
    assert result.stdout.splitlines()[1] == "['lo']"
    assert_serving("outside network")
