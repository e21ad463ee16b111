"""A content-addressed, on-disk request cache around the Policy, Scorer and Executor protocols.

A resumed or repeated ``generate`` replays engine calls from here instead of recomputing them:

    policy calls    key = sha256(model digest, prompt, sampling params incl. seed)  -> Generation
    scorer calls    key = sha256(scorer digest, question, steps)                     -> float
    sandbox runs    key = sha256(sandbox limits, code)                               -> ExecutionResult

The store is one SQLite file (``<output>/cache/requests.sqlite`` by default; WAL mode, so several
worker processes on one machine can share it). Values are JSON, never pickles: a cache file is
data, not code. Each ``generate``/``score``/``execute_many`` call stores all its results in one
transaction, so a process killed mid-call leaves either the whole call or none of it.

The wrappers have the protocols' shapes, so search code never knows a cache is there; they only
pass the misses on to the wrapped backend (results keep request order). Unseeded policy requests
(``seed=None``) are cached too: a rerun then replays the first sample instead of drawing a new one,
which is what resuming needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from transforms.protocols import ExecutionResult, Generation, GenerationRequest, Sample, ScoreRequest

KINDS = ("policy", "scorer", "sandbox")
DEFAULT_FILE = "cache/requests.sqlite"


def _key(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class CacheStats:
    """Hits and misses per kind of call (one request counts once)."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    misses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def hit_rate(self, kind: str) -> float | None:
        total = self.hits[kind] + self.misses[kind]
        return self.hits[kind] / total if total else None


class RequestStore:
    """The SQLite table ``entries(kind, key, value)``; thread-safe, safe to share between processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a kill -9 loses no committed call
        self._con.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT NOT NULL, key TEXT NOT NULL, "
                          "value TEXT NOT NULL, PRIMARY KEY (kind, key))")
        self.stats = CacheStats()

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):  # SQLite caps bound parameters per statement
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._con.execute(f"SELECT key, value FROM entries WHERE kind = ? AND key IN ({marks})",
                                         [kind, *chunk]).fetchall()
                found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put_many(self, kind: str, items: Sequence[tuple[str, object]]) -> None:
        if not items:
            return
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                self._con.executemany("INSERT OR IGNORE INTO entries (kind, key, value) VALUES (?, ?, ?)",
                                      [(kind, key, json.dumps(value)) for key, value in items])
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def count(self, kind: str) -> int:
        with self._lock:
            return self._con.execute("SELECT count(*) FROM entries WHERE kind = ?", (kind,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._con.close()


def _cached_call(store: RequestStore, kind: str, keys: list[str], compute: Callable[[list[int]], list],
                 encode: Callable, decode: Callable) -> list:
    """Results for ``keys`` in order: stored ones decoded, the rest computed (by index) and stored."""
    found = store.get_many(kind, keys)
    missing = [i for i, key in enumerate(keys) if key not in found]
    store.stats.hits[kind] += len(keys) - len(missing)
    store.stats.misses[kind] += len(missing)
    results = [decode(found[key]) if key in found else None for key in keys]
    if missing:
        computed = compute(missing)
        for i, value in zip(missing, computed):
            results[i] = value
        encoded = [(keys[i], encode(value)) for i, value in zip(missing, computed)]
        store.put_many(kind, [(key, data) for key, data in encoded if data is not None])  # None: not cacheable
    return results


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def _encode_generation(generation: Generation) -> dict:
    return dataclasses.asdict(generation)


def _decode_generation(data: dict) -> Generation:
    samples = tuple(Sample(**{**s, "token_texts": _tuple(s["token_texts"]), "token_logprobs": _tuple(s["token_logprobs"])})
                    for s in data["samples"])
    return Generation(samples=samples, prompt_tokens=data["prompt_tokens"], cached_prompt_tokens=data["cached_prompt_tokens"])


def _tuple(value):
    return None if value is None else tuple(value)


class CachedPolicy:
    """A Policy that answers from the store when it can and asks ``policy`` for the rest."""

    def __init__(self, policy, store: RequestStore, digest: str):
        self.policy, self.store, self.digest = policy, store, digest
        self.model_id = policy.model_id

    def __getattr__(self, name):  # model_path, tokenizer, ... of the wrapped backend
        return getattr(self.policy, name)

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        return self.policy.chat_prompt(question, system)

    def _keys(self, requests: Sequence[GenerationRequest]) -> list[str]:
        return [_key(self.digest, r.prompt, dataclasses.asdict(r.sampling)) for r in requests]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        return _cached_call(self.store, "policy", self._keys(requests),
                            lambda idx: self.policy.generate([requests[i] for i in idx]),
                            _encode_generation, _decode_generation)

    # StreamingPolicy (the continuous scheduler): hits are ready at the next poll; misses go to the
    # wrapped backend's own stream and are stored as they come back. Defined here, not forwarded by
    # __getattr__, so that no streamed request bypasses the cache.
    def submit(self, requests: Sequence[GenerationRequest]) -> list[int]:
        if not hasattr(self, "_stream"):
            from transforms.search.continuous import as_stream

            self._stream, self._ready, self._pending, self._tickets = as_stream(self.policy), [], {}, 0
        keys = self._keys(requests)
        found = self.store.get_many("policy", keys)
        tickets = list(range(self._tickets, self._tickets + len(requests)))
        self._tickets += len(requests)
        misses = [(ticket, key, request) for ticket, key, request in zip(tickets, keys, requests) if key not in found]
        self.store.stats.hits["policy"] += len(keys) - len(misses)
        self.store.stats.misses["policy"] += len(misses)
        self._ready += [(ticket, _decode_generation(found[key])) for ticket, key in zip(tickets, keys) if key in found]
        if misses:
            inner = self._stream.submit([request for _, _, request in misses])
            self._pending.update({inner_ticket: (ticket, key) for inner_ticket, (ticket, key, _) in zip(inner, misses)})
        return tickets

    def poll(self) -> list[tuple[int, Generation]]:
        ready, self._ready = self._ready, []
        if ready or not self._pending:  # answer hits at once; step the engine only when nothing is ready
            return ready
        finished = []
        for inner_ticket, generation in self._stream.poll():
            ticket, key = self._pending.pop(inner_ticket)
            finished.append((ticket, key, generation))
        self.store.put_many("policy", [(key, _encode_generation(g)) for _, key, g in finished])
        return [(ticket, generation) for ticket, _, generation in finished]


# --------------------------------------------------------------------------------------------
# Scorer
# --------------------------------------------------------------------------------------------


class CachedScorer:
    def __init__(self, scorer, store: RequestStore, digest: str):
        self.scorer, self.store, self.digest = scorer, store, digest
        self.model_id = scorer.model_id

    def __getattr__(self, name):
        return getattr(self.scorer, name)

    def score(self, requests: Sequence[ScoreRequest]) -> list[float]:
        keys = [_key(self.digest, r.question, list(r.steps)) for r in requests]
        return _cached_call(self.store, "scorer", keys, lambda idx: self.scorer.score([requests[i] for i in idx]),
                            float, float)


# --------------------------------------------------------------------------------------------
# Sandbox executor
# --------------------------------------------------------------------------------------------


def _decode_result(data: dict) -> ExecutionResult:
    return ExecutionResult(**data)


class CachedExecutor:
    """Only results that depend on the code are stored (not a sandbox that failed to start)."""

    def __init__(self, executor, store: RequestStore, digest: str, cacheable: Callable[[ExecutionResult], bool]):
        self.executor, self.store, self.digest, self.cacheable = executor, store, digest, cacheable

    def __getattr__(self, name):
        return getattr(self.executor, name)

    def execute(self, code: str) -> ExecutionResult:
        return self.execute_many([code])[0]

    def execute_many(self, codes: Sequence[str]) -> list[ExecutionResult]:
        keys = [_key(self.digest, code) for code in codes]
        return _cached_call(self.store, "sandbox", keys, lambda idx: self.executor.execute_many([codes[i] for i in idx]),
                            self._encode, _decode_result)

    def _encode(self, result: ExecutionResult):
        return dataclasses.asdict(result) if self.cacheable(result) else None

    def close(self) -> None:
        close = getattr(self.executor, "close", None)
        if close:
            close()


# --------------------------------------------------------------------------------------------
# Digests: what makes two backends give the same answers
# --------------------------------------------------------------------------------------------


def policy_digest(policy, spec) -> str:
    """The weights' SHA-256 when the model is a local folder (else its id), plus dtype and tokenizer."""
    from transforms.policy.models import model_digest

    path = getattr(policy, "model_path", None)
    weights = (model_digest(path) if path else None) or f"id:{policy.model_id}"
    return _key("policy", weights, spec.dtype, spec.tokenizer)


def scorer_digest(scorer, spec) -> str:
    from transforms.policy.models import model_digest

    path = getattr(scorer, "model_path", None)
    weights = (model_digest(path) if path else None) or f"id:{scorer.model_id}"
    return _key("scorer", weights, spec.key())


def executor_digest(limits) -> str:
    return _key("sandbox", limits.to_wire())
