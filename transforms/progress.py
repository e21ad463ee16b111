"""A progress line with rate and ETA for local runs (stderr, at most once per ``every_s`` seconds)."""

from __future__ import annotations

import sys
import time
from datetime import timedelta


class Progress:
    def __init__(self, total: int | None, label: str = "search", every_s: float = 2.0, stream=None):
        self.total, self.label, self.every_s = total, label, every_s
        self.stream = stream or sys.stderr
        self.done = self.nodes = self.tokens = 0
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, problems: int, nodes: int, tokens: int, force: bool = False) -> None:
        self.done += problems
        self.nodes += nodes
        self.tokens += tokens
        now = time.monotonic()
        if force or now - self._last >= self.every_s or (self.total and self.done >= self.total):
            self._last = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"[treemill {self.label}] {self.done}"
        if self.total:
            text += f"/{self.total} problems ({100 * self.done / self.total:.0f}%)"
            if rate > 0 and self.done < self.total:
                text += f", ETA {timedelta(seconds=round((self.total - self.done) / rate))}"
        else:
            text += " problems"
        return text + f", {self.nodes} nodes, {self.tokens / elapsed:.0f} tok/s, {timedelta(seconds=round(elapsed))} elapsed"
