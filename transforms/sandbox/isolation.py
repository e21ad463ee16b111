"""How a fork server is launched: bubblewrap, else ``unshare`` namespaces, else rlimits only.

A ``LaunchPlan`` is the command line, environment and fork-server configuration for one level of
isolation. The executor tries the levels in ``ISOLATION_ORDER`` and keeps the first whose fork
server starts and answers.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import re
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from transforms.sandbox.limits import MIB, SandboxLimits

ISOLATION_ORDER = ("bwrap", "unshare", "rlimits")
ZYGOTE_PATH = Path(__file__).with_name("zygote.py")
DEFAULT_PRELOAD = (
    "math",
    "cmath",
    "fractions",
    "decimal",
    "itertools",
    "functools",
    "collections",
    "re",
    "random",
    "statistics",
    "numpy",
    "sympy",
)

# Only these variables reach the sandbox, and only if they do not look like secrets either.
SAFE_ENV_NAMES = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TERM"})
SAFE_ENV_PREFIXES = ("LC_",)
SECRET_NAME = re.compile(
    r"TOKEN|KEY|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|CERT|SIGNATURE"
    r"|^AWS_|^HF_|^HUGGING|^OPENAI|^ANTHROPIC|^GITHUB_|^GH_|^AZURE_|^GOOGLE_|^GCP_|^GCLOUD"
    r"|^WANDB_|^DATABASE_URL|^PG|^MYSQL|^REDIS|^SSH_|^GPG_|^NPM_|^PYPI|^TWINE_|^DOCKER_|^KUBE",
    re.IGNORECASE,
)
# Pinned for the sandbox: one BLAS thread (the fork server must stay single-threaded to fork
# safely) and a non-interactive matplotlib.
SANDBOX_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONIOENCODING": "utf-8",
}
# Capabilities the fork server keeps when bubblewrap runs as root: enough to hand each child to
# an unprivileged uid (setuid/setgid/chown), to kill it, and to clean up the files it wrote.
ROOT_ZYGOTE_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
NOBODY_UID = 65534


def is_secret_name(name: str) -> bool:
    """Whether an environment variable name looks like it holds a credential."""
    return bool(SECRET_NAME.search(name))


def scrub_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the sandbox gets: an allow-list of harmless variables, minus any secret."""
    kept = {
        name: value
        for name, value in environ.items()
        if (name in SAFE_ENV_NAMES or name.startswith(SAFE_ENV_PREFIXES)) and not is_secret_name(name)
    }
    kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {**kept, **SANDBOX_ENV}


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to start one fork server at a given isolation level."""

    isolation: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    description: str
    scratch_dir: str | None = None  # a host folder we created and must remove at close
    zygote_config: Mapping = field(default_factory=dict)


def plan(isolation: str, limits: SandboxLimits, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> LaunchPlan:
    """The launch plan for ``isolation`` (one of ``ISOLATION_ORDER``); raises if unusable here."""
    if isolation == "bwrap":
        return _plan_bwrap(limits, preload)
    if isolation == "unshare":
        return _plan_unshare(preload)
    if isolation == "rlimits":
        return _plan_rlimits(preload)
    raise ValueError(f"unknown isolation {isolation!r}; expected one of {ISOLATION_ORDER}")


def _child_identity() -> tuple[int | None, int | None]:
    """As root, the code runs as nobody; otherwise as the calling user (nothing to drop)."""
    if os.geteuid() != 0:
        return None, None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return NOBODY_UID, NOBODY_UID


def _zygote_argv(config: dict) -> list[str]:
    return [sys.executable, "-I", "-B", str(ZYGOTE_PATH), json.dumps(config)]


def _base_config(preload: tuple[str, ...]) -> dict:
    uid, gid = _child_identity()
    return {"preload": list(preload), "child_uid": uid, "child_gid": gid}


# --- bubblewrap ------------------------------------------------------------------------------


def _plan_bwrap(limits: SandboxLimits, preload: tuple[str, ...]) -> LaunchPlan:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap is not installed (apt-get install bubblewrap)")
    masked = _masked_dirs()
    binds = _paths_to_rebind(masked)
    # Empty all of /tmp after each run, unless host folders are bound into it.
    wipe = ["/dev/shm"] + ([] if any(_is_under(p, "/tmp") for p in binds) else ["/tmp"])
    config = {**_base_config(preload), "scratch": "/tmp", "wipe": wipe}
    argv = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    if _bwrap_supports(bwrap, "--as-pid-1"):
        # The fork server is PID 1 of the namespace: the code cannot signal it (no handlers),
        # and when it dies the kernel kills everything left in the namespace.
        argv.append("--as-pid-1")
    argv += ["--unshare-uts", "--unshare-cgroup-try", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in masked:
        if path == "/tmp" and _bwrap_supports(bwrap, "--size"):
            argv += ["--size", str(limits.tmpfs_mb * MIB)]
        argv += ["--tmpfs", path]
    for path in _parents_to_create(binds, masked):
        argv += ["--perms", "0755", "--dir", path]  # bwrap would make them 0700: unusable as nobody
    for path in binds:
        argv += ["--ro-bind", path, path]
    argv += ["--chdir", "/tmp"]
    if os.geteuid() == 0:
        argv += ["--cap-drop", "ALL"] + [arg for cap in ROOT_ZYGOTE_CAPS for arg in ("--cap-add", cap)]
    description = "bubblewrap: no network, own PID/IPC/UTS namespaces, read-only root filesystem, private /tmp"
    return LaunchPlan("bwrap", tuple(argv + _zygote_argv(config)), scrub_env(os.environ), description, None, config)


def _masked_dirs() -> list[str]:
    """Host folders replaced by empty tmpfs: scratch space, sockets, and the user's home."""
    masked = ["/tmp", "/run"]
    home = os.environ.get("HOME") or ""
    if home and os.path.isdir(home) and Path(home).resolve() != Path("/"):
        masked.append(str(Path(home).resolve()))
    return masked


def _paths_to_rebind(masked: list[str]) -> list[str]:
    """Folders the fork server needs (interpreter, libraries, this package) hidden by a mask."""
    needed = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(ZYGOTE_PATH.parent)}
    needed.add(os.path.dirname(os.path.realpath(sys.executable)))
    needed.update(site.getsitepackages())
    resolved = {str(Path(path).resolve()) for path in needed if os.path.isdir(path)}
    # A mask itself is never re-bound: /tmp must stay the private, writable tmpfs.
    hidden = sorted(p for p in resolved if any(_is_under(p, m) and p != m for m in masked))
    # Bind only the outermost folders: a bind inside another would be redundant.
    return [p for p in hidden if not any(q != p and _is_under(p, q) for q in hidden)]


def _parents_to_create(binds: list[str], masked: list[str]) -> list[str]:
    """Folders between a mask and a path bound inside it, shallowest first."""
    parents = set()
    for path in binds:
        mask = max((m for m in masked if _is_under(path, m)), key=len)
        parent = os.path.dirname(path)
        while parent != mask and _is_under(parent, mask):
            parents.add(parent)
            parent = os.path.dirname(parent)
    return sorted(parents, key=lambda p: (p.count("/"), p))


def _is_under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@functools.lru_cache(maxsize=8)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (``--size`` came in 0.7, ``--as-pid-1`` in 0.3)."""
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return option in text


# --- unshare and rlimits ---------------------------------------------------------------------


def _private_scratch(config: dict) -> str:
    """A host folder for run directories; traversable (not listable) by the child's uid."""
    path = tempfile.mkdtemp(prefix="treemill-sandbox-")
    if config["child_uid"] is not None:
        os.chmod(path, 0o711)
    return path


def _plan_unshare(preload: tuple[str, ...]) -> LaunchPlan:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise FileNotFoundError("unshare is not installed (util-linux)")
    config = _base_config(preload)
    argv = [unshare]
    if os.geteuid() != 0:
        argv += ["--user", "--map-root-user"]
        config.update(child_uid=None, child_gid=None)
    # The fork server becomes PID 1 of a new namespace: when it dies, everything in it dies.
    argv += ["--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]
    scratch = _private_scratch(config)
    config.update(scratch=scratch, wipe=[])
    description = "unshare: no network, own PID namespace; NO filesystem isolation beyond file permissions"
    return LaunchPlan("unshare", tuple(argv + _zygote_argv(config)), scrub_env(os.environ), description, scratch, config)


def _plan_rlimits(preload: tuple[str, ...]) -> LaunchPlan:
    config = _base_config(preload)
    scratch = _private_scratch(config)
    config.update(scratch=scratch, wipe=[])
    description = "rlimits only: NO network isolation, NO filesystem isolation beyond file permissions"
    return LaunchPlan("rlimits", tuple(_zygote_argv(config)), scrub_env(os.environ), description, scratch, config)
