"""A bounded, thread-safe LRU cache of execution results keyed by code and limits."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from transforms.protocols import ExecutionResult
from transforms.sandbox.limits import SandboxLimits
from transforms.sandbox.worker import is_worker_failure


def cache_key(code: str, limits: SandboxLimits) -> str:
    """SHA-256 of the code and the limits it runs under (other limits may end differently)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(limits.to_wire(), sort_keys=True).encode())
    digest.update(b"\0")
    digest.update(code.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def is_cacheable(result: ExecutionResult) -> bool:
    """Results that depend on the code, not on the sandbox's own health."""
    return result.status != "sandbox_error" and not is_worker_failure(result)


def _size(result: ExecutionResult) -> int:
    return len(result.stdout) + len(result.stderr) + len(result.reason or "") + 256


class ExecutionCache:
    """LRU over results, bounded by an approximate size in bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, ExecutionResult] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> ExecutionResult | None:
        with self._lock:
            result = self._items.get(key)
            if result is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return result

    def put(self, key: str, result: ExecutionResult) -> None:
        if self.max_bytes <= 0 or not is_cacheable(result):
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = result
            self._bytes += _size(result)
            while self._bytes > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= _size(evicted)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
