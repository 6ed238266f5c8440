"""Finding text in the transcript: plain or regular-expression search over runs of lines.

Pure and Textual-free, so it is unit-tested and benchmarked alone. The view hands it its
*sources* (a stream's kept lines, the rows a rendered part shows) on every pass; the
index keeps, per source, the lines already seen joined into chunks (and their lowercase
form) with the chunk's matches for the current query. A pass then searches only what is
new: lines appended since the last pass, and a stream's unfinished last line. A source
whose front was trimmed by the scrollback loses the matches there; a source that is gone
is forgotten.

Matches are `(line, start, end)`: `line` counts from the first line the source ever had
(a stream's `dropped` lines included), `start` and `end` are character offsets into the
line as shown (colour codes removed, tabs expanded).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

__all__ = [
    "CHUNK_LINES",
    "MAX_MATCHES",
    "Hit",
    "Query",
    "SearchIndex",
    "Source",
    "compile_query",
    "shown_text",
]

CHUNK_LINES = 2048
"""Lines joined into one searched string: big enough that a search is a few C calls per
chunk, small enough that appending to the last chunk stays cheap."""

MAX_MATCHES = 10_000
"""Matches kept per pass; the count shows `10,000+` beyond (a one-letter query over a full
scrollback would otherwise hold millions)."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")

_KEEPS_CASE = re.compile(r"\\[A-Zxuo0-9N]|\(\?[a-zA-Z]*L")
"""What lowercasing would change the meaning of in a pattern: `\\W`, `\\S`, `\\D`, `\\B`,
`\\A`, `\\Z`; a character by its code (`\\x41`), its name or a group's number; the `L` flag."""


def shown_text(line: str) -> str:
    """`line` as the transcript shows it: colour codes removed, tabs expanded."""
    if "\x1b" in line:
        line = _SGR.sub("", line)
    if "\t" in line:
        line = line.expandtabs()
    return line


@dataclass(frozen=True)
class Query:
    """What to look for, and how."""

    text: str
    case: bool = False
    """Match case exactly; by default upper and lower case match each other."""
    regex: bool = False
    """`text` is a Python regular expression; by default it is plain text."""


@dataclass(frozen=True)
class _Compiled:
    pattern: re.Pattern[str]
    lowered: bool
    """The pattern is for the lowercase text (a plain query without case)."""


def compile_query(query: Query) -> _Compiled | str | None:
    """The compiled form of `query`; a message when its regular expression is bad; None
    for an empty query (nothing to find)."""
    if not query.text:
        return None
    if not query.regex:
        if query.case:
            return _Compiled(re.compile(re.escape(query.text)), lowered=False)
        lowered = query.text.lower()
        if len(lowered) == len(query.text):
            return _Compiled(re.compile(re.escape(lowered)), lowered=True)
        return _Compiled(re.compile(re.escape(query.text), re.IGNORECASE), lowered=False)
    try:
        original = re.compile(query.text, 0 if query.case else re.IGNORECASE)
    except (re.error, OverflowError, RecursionError) as error:
        return f"bad regex: {error}"
    if query.case or _KEEPS_CASE.search(query.text):
        return _Compiled(original, lowered=False)
    # Python's IGNORECASE search is some 20 times slower than a plain one (no fast scan
    # for a literal prefix): a pattern whose meaning lowercase keeps runs, lowercased, on
    # the lowercase text instead.
    try:
        return _Compiled(re.compile(query.text.lower()), lowered=True)
    except (re.error, OverflowError, RecursionError):
        return _Compiled(original, lowered=False)


@dataclass
class Source:
    """A run of lines to search, as the view has it now.

    `owner` is the object the lines belong to (a stream, a rendered part): a source is
    recognised on the next pass by it, and by `version`.
    """

    owner: object
    lines: Sequence[str] | Callable[[], Sequence[str]]
    """The kept complete lines (a stream's), or a function that makes them (a rendered
    part's rows, made only when the index has not seen this version)."""
    first: int = 0
    """The number of `lines[0]`: how many lines were dropped from the front."""
    tail: str = ""
    """An unfinished last line, searched on every pass (it changes in place)."""
    version: object = None
    """Anything that changes when lines change other than by appending (a new width)."""


class Hit(NamedTuple):
    """One match: in which source, which line (counted as `Source.first`), where."""

    owner: object
    line: int
    start: int
    end: int


@dataclass
class _Chunk:
    first: int
    count: int
    text: str
    lower: str | None = None
    starts: list[int] = field(default_factory=list)
    matches: list[Hit] | None = None
    """The current query's matches, made once: a pass over unchanged chunks reuses them."""

    def search(self, compiled: _Compiled, owner: object) -> list[Hit]:
        if self.matches is None:
            found = _find(self.text, self._text_for(compiled), self.starts, compiled)
            first = self.first
            self.matches = [Hit(owner, first + line, s, e) for line, s, e in found]
        return self.matches

    def _text_for(self, compiled: _Compiled) -> str:
        if not compiled.lowered:
            return self.text
        if self.lower is None:
            lower = self.text.lower()
            # A few characters change length in lowercase (İ): offsets would shift.
            self.lower = lower if len(lower) == len(self.text) else self.text
        return self.lower


def _find(
    text: str, searched: str, starts: list[int], compiled: _Compiled
) -> list[tuple[int, int, int]]:
    """Matches in `searched` (`text` or its lowercase) as (line, start, end) in the lines
    that start at `starts`; an empty match is none, a match across lines ends at its
    first line's end."""
    pattern = compiled.pattern
    if searched is text and compiled.lowered:
        # Lowercase that changes length: match case-insensitively on the text itself.
        pattern = re.compile(pattern.pattern, re.IGNORECASE)
    found: list[tuple[int, int, int]] = []
    for match in pattern.finditer(searched):
        begin, end = match.span()
        if begin == end:
            continue
        line = bisect_right(starts, begin) - 1
        line_start = starts[line]
        line_end = starts[line + 1] - 1 if line + 1 < len(starts) else len(text)
        found.append((line, begin - line_start, min(end, line_end) - line_start))
        if len(found) > MAX_MATCHES:
            break
    return found


def _chunk(first: int, lines: Sequence[str]) -> _Chunk:
    shown = [shown_text(line) for line in lines]
    starts = list(accumulate((len(line) + 1 for line in shown[:-1]), initial=0))
    return _Chunk(first, len(shown), "\n".join(shown), starts=starts)


@dataclass
class _Cached:
    owner: object
    version: object
    first: int = 0
    end: int = 0
    """The number after the last line chunked."""
    chunks: list[_Chunk] = field(default_factory=list)


class SearchIndex:
    """The current query's matches over the view's sources, kept up to date incrementally."""

    def __init__(self) -> None:
        self._cache: dict[int, _Cached] = {}
        self._compiled: _Compiled | None = None
        self.query = Query("")
        self.error: str | None = None
        """Why the query cannot be searched for (a bad regex), or None."""
        self.more = False
        """The last pass stopped at `MAX_MATCHES`: there are more."""

    def set_query(self, query: Query) -> None:
        """Look for `query` from the next pass; the chunks' text is kept."""
        if query == self.query:
            return
        self.query = query
        compiled = compile_query(query)
        self.error = compiled if isinstance(compiled, str) else None
        self._compiled = compiled if isinstance(compiled, _Compiled) else None
        for cached in self._cache.values():
            for chunk in cached.chunks:
                chunk.matches = None

    def clear(self) -> None:
        """Let go of every cached chunk (the search was closed)."""
        self._cache.clear()

    def search(self, sources: Sequence[Source]) -> list[Hit]:
        """Every match of the query in `sources`, in their order, at most `MAX_MATCHES`."""
        compiled = self._compiled
        hits: list[Hit] = []
        self.more = False
        seen: set[int] = set()
        if compiled is None:
            self._cache.clear()
            return hits
        for source in sources:
            seen.add(id(source.owner))
            if len(hits) <= MAX_MATCHES:
                self._search_source(source, compiled, hits)
        for key in [key for key in self._cache if key not in seen]:
            del self._cache[key]
        if len(hits) > MAX_MATCHES:
            del hits[MAX_MATCHES:]
            self.more = True
        return hits

    def _search_source(self, source: Source, compiled: _Compiled, hits: list[Hit]) -> None:
        """Add the source's matches to `hits`, stopping once past `MAX_MATCHES`."""
        cached = self._sync(source)
        owner = source.owner
        for chunk in cached.chunks:
            found = chunk.search(compiled, owner)
            if found and found[0].line < source.first:
                found = [hit for hit in found if hit.line >= source.first]
            hits.extend(found[: MAX_MATCHES + 1 - len(hits)])
            if len(hits) > MAX_MATCHES:
                return
        if source.tail:
            hits.extend(_chunk(cached.end, [source.tail]).search(compiled, owner))

    def _sync(self, source: Source) -> _Cached:
        """The source's chunks, brought up to date with its lines."""
        key = id(source.owner)
        cached = self._cache.get(key)
        lines = source.lines
        if cached is None or cached.owner is not source.owner or cached.version != source.version:
            cached = _Cached(source.owner, source.version, source.first, source.first)
            self._cache[key] = cached
        elif callable(lines):
            return cached  # a rendered part's rows: unchanged for one version
        if callable(lines):
            lines = lines()
        if source.first > cached.first:
            cached.chunks = [c for c in cached.chunks if c.first + c.count > source.first]
            cached.first = source.first
        cached.end = max(cached.end, source.first)
        new_from = cached.end - source.first
        if new_from < len(lines):
            self._append(cached, lines, source.first, new_from)
            cached.end = source.first + len(lines)
        return cached

    def _append(self, cached: _Cached, lines: Sequence[str], base: int, start: int) -> None:
        """Chunk `lines[start:]` (`lines[0]` is line `base`)."""
        chunks = cached.chunks
        if chunks and chunks[-1].count < CHUNK_LINES:
            # Refill the short last chunk rather than add a small one per frame.
            start = max(0, chunks.pop().first - base)
        first = base + start
        for offset in range(start, len(lines), CHUNK_LINES):
            part = lines[offset : offset + CHUNK_LINES]
            chunks.append(_chunk(first, part))
            first += len(part)
