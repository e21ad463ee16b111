"""Worker process for the symbolic layer: JSON lines in on stdin, JSON lines out on stdout.

Started by ``pool.SymbolicPool`` as ``python -m transforms.verify._worker MEMORY_MB``. It exits on
end of input, so a parent that dies never leaves it running. Model text is parsed here, never
executed (latex2sympy is a grammar-based parser; nothing is ``eval``-ed).
"""

from __future__ import annotations

import json
import os
import sys


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space so a runaway expansion raises MemoryError instead of swapping."""
    if memory_mb <= 0:
        return
    import resource

    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _limit_cpu(timeout_s: float | None) -> None:
    """Let the kernel kill this worker (SIGXCPU) if one request burns ``timeout_s`` + 2 s of CPU.

    The parent kills a worker that overruns, but if the parent itself died the worker would keep
    computing (a C-level bignum loop never returns to read its closed stdin). The limit is reset
    before each request, so it bounds every request on its own.
    """
    if not timeout_s or timeout_s <= 0:
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + timeout_s) + 2
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or soft <= hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _answer(request: dict) -> dict:
    """Run one comparison; every failure becomes an undecided result, never a dead worker."""
    from transforms.verify import symbolic

    _limit_cpu(request.get("timeout_s"))
    try:
        if request.get("kind") == "math_verify":
            result = symbolic.math_verify_compare(request["pred"], request["gold"])
        else:
            result = symbolic.compare(request["pred"], request["gold"], request.get("options", {}))
    except MemoryError:
        result = {"equal": None, "rule": "memory"}
    except RecursionError:
        result = {"equal": None, "rule": "recursion"}
    except Exception as exc:  # sympy raises many unrelated types; the worker must survive them
        result = {"equal": None, "rule": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["id"] = request.get("id")
    return result


def main(argv: list[str]) -> int:
    """Serve requests until stdin closes. Library output is sent to stderr so that stdout carries
    only protocol lines."""
    _limit_memory(int(argv[1]) if len(argv) > 1 else 0)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else written to fd 1, even from C code, goes to stderr
    sys.stdout = sys.stderr
    from transforms.verify import symbolic

    symbolic.load()
    protocol.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            protocol.write(json.dumps({"id": None, "equal": None, "rule": "bad_request"}) + "\n")
            continue
        protocol.write(json.dumps(_answer(request)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
