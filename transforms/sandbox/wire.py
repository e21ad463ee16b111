"""Length-prefixed JSON frames between the executor and its fork servers.

Standard library only: the fork server imports this file inside the sandbox without the
treemill package on its path.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 256 * 1024 * 1024


class FrameTimeout(Exception):
    """No complete frame arrived before the deadline."""


def encode_frame(message: dict) -> bytes:
    """One frame: a 4-byte big-endian length, then the UTF-8 JSON body."""
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return HEADER.pack(len(body)) + body


def write_frame(fd: int, message: dict) -> None:
    """Write a whole frame to ``fd`` (blocking)."""
    view = memoryview(encode_frame(message))
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, deadline: float | None = None) -> dict | None:
    """Read one frame; None on a clean end of file before its first byte.

    With a ``deadline`` (a ``time.monotonic()`` value) the read gives up with ``FrameTimeout``;
    an end of file in the middle of a frame raises ``EOFError``.
    """
    header = _read_exact(fd, HEADER.size, deadline, allow_eof=True)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {size} bytes is over the {MAX_FRAME_BYTES} byte limit")
    return json.loads(_read_exact(fd, size, deadline, allow_eof=False))


def _read_exact(fd: int, size: int, deadline: float | None, allow_eof: bool) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        if deadline is not None:
            _wait_readable(fd, deadline)
        data = os.read(fd, size - len(chunks))
        if not data:
            if allow_eof and not chunks:
                return None
            raise EOFError(f"end of file after {len(chunks)} of {size} bytes")
        chunks += data
    return bytes(chunks)


def _wait_readable(fd: int, deadline: float) -> None:
    # poll, not select: a busy parent process can hold file descriptors above FD_SETSIZE.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(max(1, int(remaining * 1000))):
        raise FrameTimeout(f"no frame within the deadline on fd {fd}")
