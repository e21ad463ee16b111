"""A small thread-safe LRU cache for verdicts (one per verifier; no module-level state)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable


class LruCache:
    """Least-recently-used mapping guarded by a lock, so Beam DoFn threads can share a verifier."""

    def __init__(self, maxsize: int):
        """``maxsize`` 0 disables caching (every ``get`` misses, ``put`` is a no-op)."""
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        """The cached value, refreshed as most recent; None on a miss."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: object) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        """Number of entries."""
        with self._lock:
            return len(self._data)
