"""A big stream message's text decoded in pieces, so the event loop never decodes tens of MB
in one call.

ipykernel sends a cell's unflushed prints as a few messages of tens of MB, and a flushed
megabyte line as a message of its own. Decoding one whole takes ~10 ms a MB (orjson
included), in one call that holds the GIL; then the model sanitizes and splits the text in
one piece too. Cut into pieces of a quarter MB at most, at a line end where there is one,
each piece is a stream message of its own: the same output, appended in turn, with the
loop free between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

import orjson

__all__ = ["BIG_MESSAGE", "ESCAPE_ROOM", "PIECE", "stream_pieces"]

BIG_MESSAGE = 256 << 10
"""A message whose frames are larger than this (bytes) is decoded in pieces when it can be,
its signature checked in a thread: a flushed megabyte line decoded whole held the event
loop ~6 ms a message, under a burst of them."""

PIECE = 256 << 10
"""About how much of a big stream's text (JSON bytes) one piece holds: decoding it takes a
few milliseconds."""

ESCAPE_ROOM = 256
"""How far back (bytes) from a piece's end a terminal escape sequence is looked for, to
end the piece before it: SGR codes are a few bytes, OSC hyperlinks longer."""

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


def _escape_begins(body: bytes, start: int, end: int) -> int:
    """Where the last terminal escape sequence (ESC, `\\u001b` in JSON) in the
    `ESCAPE_ROOM` bytes before `end` begins; -1 when there is none after `start`."""
    room = max(start + 1, end - ESCAPE_ROOM)
    at = max(body.rfind(b"\\u001b", room, end), body.rfind(b"\\u001B", room, end))
    while at != -1 and _escaped(body, at, start):
        at = max(body.rfind(b"\\u001b", room, at), body.rfind(b"\\u001B", room, at))
    return at


def _cut(body: bytes, start: int, end: int, stop: int) -> int:
    """Where to end the piece that starts at `start`, about `end`: just after an escaped
    newline in its second half; else just before a terminal escape sequence begun in the
    last `ESCAPE_ROOM` bytes, so that a colour code is not cut in two; else the nearest
    place before (or, if none, after, up to the string's end at `stop`) where no JSON
    escape, surrogate pair or UTF-8 sequence is open. A piece is never much longer than
    `end - start`, however long its lines: one longer would hold the event loop longer."""
    newline = body.rfind(b"\\n", start + (end - start) // 2, end)
    while newline != -1 and _escaped(body, newline, start):
        newline = body.rfind(b"\\n", start, newline)
    if newline != -1:
        return newline + 2
    escape = _escape_begins(body, start, end)
    if escape != -1:
        return escape
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
                # A safe place to cut is at most a surrogate pair's escape past `end`.
                window = bytes(content[at : min(stop, at + PIECE + 16)])
                end = at + _cut(window, 0, PIECE, len(window))
            text: Any = orjson.loads(b'"' + content[at:end] + b'"')
            if not isinstance(text, str):
                raise ValueError("not a string")
            yield text
            at = end

    return name, pieces()
