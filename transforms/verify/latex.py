"""Small brace-aware helpers over LaTeX text (no parsing beyond bracket depth)."""

from __future__ import annotations

import re

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")", "]", "}"}


def group_end(text: str, open_idx: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_idx``; None when unbalanced.

    Escaped braces (``\\{``) do not count, so ``\\boxed{\\{1\\}}`` closes at the last brace.
    """
    depth = 0
    i = open_idx
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2  # skip the escaped character (\{, \}, \\)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def brace_pairs(text: str) -> dict[int, int]:
    """Map each ``{`` index to the index of its closing ``}``, in one linear pass.

    Escaped braces do not count; unclosed ``{`` are absent from the map. Finding every box with
    ``group_end`` would be quadratic on ``\\boxed{`` repeated (a real failure of runaway generations).
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def replace_command_groups(text: str, pattern: str, keep_content: bool = True, pad: str = " ") -> str:
    """Replace every ``\\cmd{...}`` matched by ``pattern`` (a regex ending just before ``{``).

    With ``keep_content`` the group's content stays (wrapped in ``pad``), else the whole command
    goes. Unbalanced groups are left alone: a truncated answer must not lose text silently.
    """
    regex = re.compile(pattern + r"\s*\{")
    out: list[str] = []
    pos = 0
    while True:
        m = regex.search(text, pos)
        if m is None:
            break
        end = group_end(text, m.end() - 1)
        if end is None:
            break
        out.append(text[pos : m.start()])
        if keep_content:
            out.append(pad + text[m.end() : end] + pad)
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def split_top_level(text: str, separators: re.Pattern[str]) -> list[str]:
    """Split ``text`` on ``separators`` matches that sit outside every bracket pair.

    Brackets are counted loosely (``(``/``[`` may close with either, for half-open intervals like
    ``[0, 7)``) and escaped set braces ``\\{ \\}`` count too, so ``\\{1, 2\\}, 3`` splits once.
    """
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        if depth == 0:
            m = separators.match(text, i)
            if m is not None and m.end() > i:
                parts.append(text[start:i])
                start = i = m.end()
                continue
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            depth += 1 if text[i + 1] == "{" else -1
            i += 2
            continue
        if ch == "\\":
            i += 1 + _command_length(text, i + 1)
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
        i += 1
    parts.append(text[start:])
    return parts


def _command_length(text: str, i: int) -> int:
    """Length of the command name starting at ``i`` (letters), or 1 for a symbol command."""
    j = i
    while j < len(text) and text[j].isalpha():
        j += 1
    return max(j - i, 1)


def strip_outer(text: str, opener: str, closer: str) -> str | None:
    """The inside of ``text`` when one bracket pair wraps all of it (``(1,2)`` but not ``(1)(2)``)."""
    if not (text.startswith(opener) and text.endswith(closer)):
        return None
    inner = text[len(opener) : len(text) - len(closer)]
    depth = 0
    i = 0
    while i < len(inner):
        if inner.startswith("\\{", i) or inner.startswith("\\}", i):
            depth += 1 if inner[i + 1] == "{" else -1
            if depth < 0:
                return None  # "\{1\} \cup \{2\}": the outer set closes early
            i += 2
            continue
        ch = inner[i]
        if ch == "\\":
            i += 2
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
            if depth < 0:
                return None  # the outer pair closes early: "(1)(2)"
        i += 1
    return inner if depth == 0 else None


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` or ``\\fbox{...}`` (nested braces kept), else None.

    The MATH convention for a solution's final answer (hendrycks ``remove_boxed(last_boxed_only_string)``).
    """
    starts = [m.end() for m in re.finditer(r"\\(?:boxed|fbox)\s*(?=\{)", text)]
    for start in reversed(starts):
        end = group_end(text, start)
        if end is not None:
            return text[start + 1:end].strip()
    return None
