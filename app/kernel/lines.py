"""A stream's complete lines, kept as a few joined blocks rather than a str per line.

A flood keeps tens of thousands of short lines (the scrollback's budget) and a frame takes
in up to `DRAIN_CHARS` of them before the budget is enforced: as one str object each, a
7-character line took 56 bytes and a pointer, and a 2 MB drain of them 16 MB at once.
Joined per message, a line costs its characters and a 4-byte offset.

Pure data; no Textual.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate, islice
from typing import overload

__all__ = ["BIG_LINE", "BLOCK_CHARS", "Lines"]

BLOCK_CHARS = 4096
"""A block shorter than this takes the next lines in (a flushed print sends one line a
message: a block per line would cost more than the str it replaces)."""


BIG_LINE = 64 << 10
"""A line this long (characters) or longer is a block by itself, kept as the very str it
came as: joined to others, every read of it (each frame that lays it out) sliced and
split a copy of it, 10 ms a frame of megabyte lines."""

_FEW = 64
"""Lines given at once that are looked at one by one for big ones; a flood's drains of
thousands of short lines are joined without a look at each."""


class _Block:
    """Lines joined with "\\n"; `starts[i]` is where line i begins in `text`."""

    __slots__ = ("starts", "text")

    def __init__(self, text: str, starts: array[int]) -> None:
        self.text = text
        self.starts = starts

    def end(self, index: int) -> int:
        """Where line `index` ends (its "\\n", or the text's end)."""
        starts = self.starts
        return starts[index + 1] - 1 if index + 1 < len(starts) else len(self.text)

    def line(self, index: int) -> str:
        """Line `index`."""
        return self.text[self.starts[index] : self.end(index)]

    def lines(self, start: int, stop: int) -> list[str]:
        """Lines `start` to `stop` (exclusive), split in C."""
        if start >= stop:
            return []
        if len(self.starts) == 1:
            # A block of one line (a megabyte line is one): split would scan it for
            # nothing, ~1 ms a MB each frame that lays it out.
            return [self.text]
        return self.text[self.starts[start] : self.end(stop - 1)].split("\n")

    def chars(self, start: int, stop: int) -> int:
        """Characters of lines `start` to `stop` (exclusive), newlines not counted."""
        if start >= stop:
            return 0
        return self.end(stop - 1) - self.starts[start] - (stop - 1 - start)


def _block(lines: Sequence[str]) -> _Block:
    starts = array("I", accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    return _Block("\n".join(lines), starts)


class Lines(Sequence[str]):
    """The complete lines of one stream: a sequence of str, appended at the end and
    dropped from the front (bounded scrollback), each line made on demand.

    Args:
        lines: The first lines.
    """

    __slots__ = ("_blocks", "_dropped", "_firsts", "_len")

    def __init__(self, lines: Sequence[str] = ()) -> None:
        self._blocks: list[_Block] = []
        self._firsts: list[int] = []
        """The number (counted since the first line ever) of each block's first line."""
        self._dropped = 0
        """Lines ever dropped from the front; some may still sit in the first block."""
        self._len = 0
        self.extend(lines)

    def __len__(self) -> int:
        return self._len

    def _locate(self, index: int) -> tuple[int, int]:
        """(block, line in it) of kept line `index` (0 <= index < len)."""
        number = self._dropped + index
        block = bisect_right(self._firsts, number) - 1
        return block, number - self._firsts[block]

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                return list(self)[index]
            return self._range(start, stop)
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("line index out of range")
        block, line = self._locate(index)
        return self._blocks[block].line(line)

    def _range(self, start: int, stop: int) -> list[str]:
        if start >= stop:
            return []
        block, line = self._locate(start)
        found: list[str] = []
        want = stop - start
        while len(found) < want:
            piece = self._blocks[block]
            found.extend(piece.lines(line, min(len(piece.starts), line + want - len(found))))
            block, line = block + 1, 0
        return found

    def __iter__(self) -> Iterator[str]:
        if not self._len:
            return
        block, line = self._locate(0)
        for piece in self._blocks[block:]:
            # A block at a time: a flood's lines are never all made at once.
            yield from piece.lines(line, len(piece.starts))
            line = 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lines):
            return len(other) == self._len and list(other) == list(self)
        if isinstance(other, list):
            return len(other) == self._len and other == list(self)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"Lines({list(self)!r})"

    def extend(self, lines: Sequence[str]) -> None:
        """Add complete lines at the end."""
        if not lines:
            return
        if len(lines) <= _FEW and any(len(line) >= BIG_LINE for line in lines):
            run: list[str] = []
            for line in lines:
                if len(line) < BIG_LINE:
                    run.append(line)
                    continue
                self._join(run)
                run = []
                # Alone, the block's text is the line itself: read back without a copy.
                self._blocks.append(_Block(line, array("I", [0])))
                self._firsts.append(self._dropped + self._len)
                self._len += 1
            self._join(run)
            return
        self._join(lines)

    def _join(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        new = _block(lines)
        blocks = self._blocks
        if blocks and len(blocks[-1].text) < BLOCK_CHARS:
            # Merged: a line a message must not cost a block each.
            last = blocks[-1]
            shift = len(last.text) + 1
            last.starts.extend(start + shift for start in new.starts)
            last.text = f"{last.text}\n{new.text}"
        else:
            blocks.append(new)
            self._firsts.append(self._dropped + self._len)
        self._len += len(lines)

    def chars(self, count: int) -> int:
        """Characters of the first `count` kept lines (newlines not counted)."""
        count = min(count, self._len)
        if count <= 0:
            return 0
        block, line = self._locate(0)
        total = 0
        while count:
            piece = self._blocks[block]
            take = min(count, len(piece.starts) - line)
            total += piece.chars(line, line + take)
            count -= take
            block, line = block + 1, 0
        return total

    def drop_front(self, count: int) -> None:
        """Let go of the oldest `count` lines."""
        count = min(count, self._len)
        if count <= 0:
            return
        self._dropped += count
        self._len -= count
        blocks, firsts = self._blocks, self._firsts
        gone = 0
        while gone < len(blocks) and firsts[gone] + len(blocks[gone].starts) <= self._dropped:
            gone += 1
        del blocks[:gone], firsts[:gone]
        if not blocks:
            return
        first = blocks[0]
        skip = self._dropped - firsts[0]
        if skip and first.starts[skip] * 2 > len(first.text):
            # More than half of it is dropped lines: copy the rest, or a big message's
            # block would hold all of its text for one kept line.
            offset = first.starts[skip]
            starts = array("I", (start - offset for start in islice(first.starts, skip, None)))
            blocks[0] = _Block(first.text[offset:], starts)
            firsts[0] = self._dropped
