"""The verdict cache."""

from __future__ import annotations

import threading

from transforms.verify.cache import LruCache


def test_lru_eviction_and_hits():
    cache = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now most recent
    cache.put("c", 3)  # evicts b
    assert cache.get("b") is None and cache.get("c") == 3 and len(cache) == 2
    assert cache.hits == 2 and cache.misses == 1


def test_size_zero_disables():
    cache = LruCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0


def test_thread_safe_under_contention():
    cache = LruCache(50)

    def work(offset):
        for i in range(2000):
            cache.put((offset, i % 70), i)
            cache.get((offset, (i * 7) % 70))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50
