"""A progress line with rate and ETA for local runs, on stderr.

On a terminal it is ONE line, rewritten in place (at most every ``every_s`` seconds) and ended when
the work is done; into a file or pipe it writes a line at most every ``every_piped_s`` seconds and
at the end, so logs stay short."""

from __future__ import annotations

import sys
import time
from datetime import timedelta


class Progress:
    def __init__(self, total: int | None, label: str = "search", every_s: float = 2.0, stream=None,
                 every_piped_s: float = 30.0):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = every_s if self.tty else max(every_s, every_piped_s)
        self._width = 0
        self.done = self.nodes = self.tokens = 0
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, problems: int, nodes: int, tokens: int, force: bool = False) -> None:
        self.done += problems
        self.nodes += nodes
        self.tokens += tokens
        now = time.monotonic()
        finished = bool(self.total and self.done >= self.total)
        if force or finished or now - self._last >= self.every_s:
            self._last = now
            line = self.line(now)
            if self.tty:  # overwrite the previous line; pad over its tail; newline only at the end
                self.stream.write(line.ljust(self._width) + ("\n" if finished else "\r"))
                self._width = len(line)
            else:
                self.stream.write(line + "\n")
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
