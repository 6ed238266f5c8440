"""A big stream message's text decoded in pieces, so the event loop never decodes tens of MB
in one call.

ipykernel sends a cell's unflushed prints as a few messages of tens of MB. Decoding one
whole takes ~10 ms a MB (orjson included), in one call that holds the GIL; then the model
sanitizes and splits the text in one piece too. Cut into pieces of a quarter MB or so at
line ends, each piece is a stream message of its own: the same output, appended in turn,
with the loop free between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

import orjson

__all__ = ["BIG_MESSAGE", "PIECE", "stream_pieces"]

BIG_MESSAGE = 2 << 20
"""A message whose frames are larger than this (bytes) is decoded in pieces when it can be."""

PIECE = 256 << 10
"""About how much of a big stream's text (JSON bytes) one piece holds: decoding it takes a
few milliseconds."""

_HEAD = re.compile(rb'\A\s*\{\s*"name"\s*:\s*"(stdout|stderr)"\s*,\s*"text"\s*:\s*"')
_TAIL = re.compile(rb'"\s*\}\s*\Z')
_BACKSLASH = 0x5C


def _escaped(body: bytes, at: int, start: int) -> bool:
    """Whether the byte at `at` follows an odd run of backslashes (it belongs to an escape)."""
    run = 0
    while at - 1 - run >= start and body[at - 1 - run] == _BACKSLASH:
        run += 1
    return run % 2 == 1


def _inside_escape(body: bytes, at: int, start: int) -> bool:
    """Whether the byte at `at` is inside an escape (`\\n`, `\\u00e9`) begun before it."""
    for back in range(1, 6):
        begin = at - back
        if begin < start:
            return False
        if body[begin] == _BACKSLASH and not _escaped(body, begin, start):
            return begin + (6 if body[begin + 1 : begin + 2] == b"u" else 2) > at
    return False


def _low_surrogate(body: bytes, at: int) -> bool:
    """Whether an escape of the second half of a surrogate pair begins at `at`."""
    return body[at : at + 3].lower() == b"\\ud" and body[at + 3 : at + 4].lower() in b"cdef"


def _cut(body: bytes, start: int, end: int, stop: int) -> int:
    """Where to end the piece that starts at `start`, about `end`: just after an escaped
    newline in the second half, else after the next one within three more pieces, else
    the nearest place before (or, if none, after, up to the string's end at `stop`) where
    no escape, surrogate pair or UTF-8 sequence is open."""
    newline = body.rfind(b"\\n", start + (end - start) // 2, end)
    while newline != -1 and _escaped(body, newline, start):
        newline = body.rfind(b"\\n", start, newline)
    if newline == -1:
        # Long lines: rather the next line end, a few pieces on, than a cut mid-line
        # (where a colour code could be cut in two).
        newline = body.find(b"\\n", end, min(stop, start + 4 * (end - start)))
        while newline != -1 and _escaped(body, newline, start):
            newline = body.find(b"\\n", newline + 2, min(stop, start + 4 * (end - start)))
    if newline != -1:
        return newline + 2
    for at in chain(range(end, start, -1), range(end + 1, stop)):
        if (
            body[at] & 0xC0 != 0x80
            and not _inside_escape(body, at, start)
            and not _low_surrogate(body, at)
        ):
            return at
    return stop


def stream_pieces(content: bytes | memoryview) -> tuple[str, Iterator[str]] | None:
    """A stream message's content as (its name, its text in pieces), each piece decoded
    only when taken; None when the content is not laid out as ipykernel sends it (the
    caller decodes it whole).

    `content` may be a memoryview of the message as libzmq received it: only the bytes
    around each cut are copied, never the whole.
    """
    head = _HEAD.match(content)
    # Searched in the last bytes only: a search from the start would scan tens of MB.
    offset = max(head.end() if head else 0, len(content) - 64)
    tail = _TAIL.search(content[offset:])
    if head is None or tail is None:
        return None
    name = head.group(1).decode()
    start, stop = head.end(), offset + tail.start()

    def pieces() -> Iterator[str]:
        at = start
        while at < stop:
            if stop - at <= PIECE:
                end = stop
            else:
                # A cut is looked for at most three pieces on (`_cut`).
                window = bytes(content[at : min(stop, at + 4 * PIECE)])
                end = at + _cut(window, 0, PIECE, len(window))
            text: Any = orjson.loads(b'"' + content[at:end] + b'"')
            if not isinstance(text, str):
                raise ValueError("not a string")
            yield text
            at = end

    return name, pieces()
