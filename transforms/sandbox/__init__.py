"""Sandboxed execution of model-written Python (code-augmented reasoning steps).

``SandboxExecutor`` implements ``transforms.protocols.Executor``: a pool of pre-warmed fork
servers (math, numpy, sympy already imported) started under bubblewrap when available, each
forking one disposable, rlimited child per execution. ``python -m transforms.sandbox FILE.py``
runs one file under the default limits and prints one JSON line.
"""

from transforms.sandbox.executor import SandboxExecutor, default_workers
from transforms.sandbox.isolation import ISOLATION_ORDER, is_secret_name, scrub_env
from transforms.sandbox.limits import SandboxLimits

__all__ = [
    "ISOLATION_ORDER",
    "SandboxExecutor",
    "SandboxLimits",
    "default_workers",
    "is_secret_name",
    "scrub_env",
]
