"""What a cell's outputs are: stream text, mime bundles, errors, paged help and answered
prompts, each counting its own lines and characters for the scrollback.

Pure data, fed by the transcript (`nbtui.app.kernel.model`); no sockets, clocks or UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nbtui.app.kernel.lines import Lines
from nbtui.app.kernel.sanitize import (
    apply_line_edits,
    continues_emoji,
    ends_in_emoji_joiner,
    sanitize,
    sanitize_stream,
)

__all__ = [
    "MAX_EXECUTION_COUNT",
    "PASSWORD_MASK",
    "RAW_TAIL_LIMIT",
    "DataOutput",
    "ErrorOutput",
    "InputOutput",
    "Output",
    "PageOutput",
    "StreamOutput",
    "execution_count",
    "is_default_repr",
    "page_output",
]

_DEFAULT_REPR = re.compile(r"<[\w.<>]+ (?:object(?: at 0x[0-9a-fA-F]+)?|at 0x[0-9a-fA-F]+)>")


def is_default_repr(plain: str) -> bool:
    """Whether a bundle's text/plain only names the object (`<IPython.core.display.HTML
    object>`, `<pandas.io.formats.style.Styler at 0x7f...>`) or is empty: then another
    of its types is the output itself."""
    text = plain.strip()
    return not text or _DEFAULT_REPR.fullmatch(text) is not None


@dataclass(eq=False)
class StreamOutput:
    """stdout or stderr of one cell, as lines; consecutive chunks of one stream merge."""

    name: str
    lines: Lines = field(default_factory=Lines)
    """The complete lines, joined per message (`Lines`), oldest kept first."""
    dropped: int = 0
    """Lines removed from the front to bound scrollback: an exact count."""
    received: int = 0
    """Every line ever received, kept or not."""
    chars: int = 0
    """Characters in the kept lines, for the scrollback's character budget."""
    _tail: list[str] = field(default_factory=list, repr=False)
    """The last line in pieces, joined only when read: a line that grows a few characters
    per message (dots, a counter) would be copied whole on each one."""
    _visible: tuple[str, str] | None = field(default=None, repr=False)
    _joiner: bool = field(default=False, repr=False)
    """The last chunk ended in an emoji and a joiner: the next may finish the picture."""
    raw: list[str] = field(default_factory=list, repr=False)
    """The chunks of text as they arrived, unsanitized and not line-edited, oldest kept
    first: `raw_text` joins them as Jupyter joins a stream's outputs. The scrollback lets
    go of their front with the lines it drops."""
    raw_dropped_chars: int = 0
    """Characters of raw text let go: with the lines the scrollback dropped, and from an
    unended last line past `RAW_TAIL_LIMIT`."""
    _raw_newlines: list[int] = field(default_factory=list, repr=False)
    """How many kept lines each raw chunk ended (its sanitized text's newlines)."""
    _raw_tail: int = field(default=0, repr=False)
    """Raw characters since the last newline."""

    @property
    def partial(self) -> str:
        """The last line, not yet ended by a newline (a progress bar lives here)."""
        tail = self._tail
        if len(tail) > 1:
            tail[:] = ["".join(tail)]
        return tail[0] if tail else ""

    def append(self, text: str) -> int:
        """Add a chunk of stream text.

        Returns:
            How many complete lines it added.
        """
        joiner, self._joiner = self._joiner, ends_in_emoji_joiner(text)
        raw = text
        text = sanitize_stream(text)
        if joiner and continues_emoji(text):
            # A chunk boundary between 👩 + joiner and 💻: one picture, as if sent whole.
            text = "\u200d" + text
        if not ("\n" in text or "\r" in text or "\x08" in text):
            # Nothing to split or resolve: the last line just grows, unless it holds a
            # "\r" or "\b" that this text may complete.
            last = self._tail[-1] if self._tail else ""
            if not ("\r" in last or "\x08" in last):
                self._keep_raw(raw, 0)
                if text:
                    self._tail.append(text)
                return 0
        kept = self._tail
        edits = "\r" in text or "\x08" in text or any("\r" in t or "\x08" in t for t in kept)
        parts = text.split("\n")
        # Counted from the split: a count of its own scanned the text again.
        self._keep_raw(raw, len(parts) - 1)
        if kept:
            # Joined once, with the text's first line: joining the tail, adding the text
            # and splitting the whole copied a megabyte line three times.
            parts[0] = "".join([*kept, parts[0]])
        partial = parts.pop()
        if edits:
            parts = [apply_line_edits(part) for part in parts]
        # The tail stays raw: a later "\r" must still be able to replace it. Only its
        # last non-empty segment can ever show, so the redraws before it are dropped.
        if "\r" in partial and "\x08" not in partial:
            segments = [segment for segment in partial.split("\r") if segment]
            tail = "\r" if partial.endswith("\r") else ""
            partial = (segments[-1] if segments else "") + tail
        self._tail = [partial] if partial else []
        self.lines.extend(parts)
        self.chars += sum(map(len, parts))
        self.received += len(parts)
        return len(parts)

    def _keep_raw(self, raw: str, newlines: int) -> None:
        self.raw.append(raw)
        self._raw_newlines.append(newlines)
        if newlines:
            self._raw_tail = len(raw) - raw.rfind("\n") - 1
            return
        self._raw_tail += len(raw)
        if self._raw_tail > RAW_TAIL_LIMIT:
            # A progress bar redrawn for hours never ends its line: keep its newest half.
            start = len(self.raw)
            while start > 0 and self._raw_newlines[start - 1] == 0:
                start -= 1
            keep = RAW_TAIL_LIMIT // 2
            tail = "".join(self.raw[start:])
            self.raw_dropped_chars += len(tail) - keep
            del self.raw[start:], self._raw_newlines[start:]
            self.raw.append(tail[-keep:])
            self._raw_newlines.append(0)
            self._raw_tail = keep

    def _trim_raw(self, lines: int) -> None:
        """Let go of the raw text of the oldest `lines` kept lines."""
        raw, counts = self.raw, self._raw_newlines
        drop = 0
        while drop < len(raw) and (
            counts[drop] < lines or (counts[drop] == lines and raw[drop].endswith("\n"))
        ):
            lines -= counts[drop]
            self.raw_dropped_chars += len(raw[drop])
            drop += 1
            if lines == 0:
                break
        del raw[:drop], counts[:drop]
        if lines > 0 and raw and raw[0].count("\n") == counts[0]:
            # Its raw newlines are the kept lines' ends: cut after the `lines`-th.
            rest = raw[0].split("\n", lines)[-1]
            self.raw_dropped_chars += len(raw[0]) - len(rest)
            raw[0] = rest
        if lines > 0 and raw:
            # (An escape that swallowed a newline keeps its chunk whole, a few lines long.)
            counts[0] = max(0, counts[0] - lines)

    @property
    def raw_text(self) -> str:
        """The kept stream text exactly as it arrived (for export)."""
        return "".join(self.raw)

    @property
    def visible_partial(self) -> str:
        """The unended last line as a terminal would show it (`\\r` and `\\b` applied)."""
        # The view asks for it on every row it draws: resolve each version only once.
        partial = self.partial
        cached = self._visible
        if cached is not None and cached[0] is partial:
            return cached[1]
        visible = apply_line_edits(partial)
        self._visible = (partial, visible)
        return visible

    def trim_front(self, count: int, chars: int = 0) -> tuple[int, int]:
        """Drop the oldest `count` lines, and more until `chars` characters are gone
        (never the unfinished last line). Returns (lines, characters) dropped."""
        lines = self.lines
        count = min(count, len(lines))
        removed = lines.chars(count)
        while removed < chars and count < len(lines):
            removed += len(lines[count])
            count += 1
        if count:
            lines.drop_front(count)
            self.dropped += count
            self.chars -= removed
            self._trim_raw(count)
        return count, removed

    @property
    def line_count(self) -> int:
        """Kept lines, the unended last one included."""
        return len(self.lines) + (1 if self._tail else 0)

    @property
    def text(self) -> str:
        """Every kept line, as shown (for the pager and for saving)."""
        if not self._tail:
            return "\n".join(self.lines)
        return "\n".join([*self.lines, self.visible_partial])


@dataclass(eq=False)
class DataOutput:
    """An execute_result or display_data: a mime bundle."""

    data: dict[str, Any]
    metadata: dict[str, Any]
    execution_count: int | None = None
    display_id: str | None = None
    version: int = 0

    def _plain(self) -> str:
        plain = self.data.get("text/plain", "")
        if isinstance(plain, list):  # nbformat allows a list of lines
            plain = "".join(str(part) for part in plain)
        return plain if isinstance(plain, str) else str(plain)

    @property
    def text(self) -> str:
        """The text/plain representation, sanitized; the kinds it holds when it has none."""
        plain = self._plain()
        if not plain and self.data:
            kinds = ", ".join(sorted(self.data))
            return f"<{kinds}>"
        return sanitize(plain)

    @property
    def source(self) -> str:
        """The output whole, as the pager shows and saves it: markdown as its source
        (its text/plain is only a repr), HTML too when its text/plain is only a default
        repr, anything else as `text`."""
        markdown = self.data.get("text/markdown")
        if isinstance(markdown, str):
            return sanitize(markdown)
        html = self.data.get("text/html")
        if (
            isinstance(html, str)
            and is_default_repr(self._plain())
            and not any(kind in self.data for kind in ("application/json", "text/latex"))
        ):
            return sanitize(html)
        return self.text

    @property
    def line_count(self) -> int:
        """Lines of `text`."""
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        """Characters held, for the scrollback's character budget."""
        # Every representation is held, not only the one shown.
        return sum(len(value) for value in self.data.values() if isinstance(value, str))


@dataclass(eq=False)
class ErrorOutput:
    """An `error` message: the exception's name, value and traceback."""

    ename: str
    evalue: str
    traceback: list[str]

    @property
    def text(self) -> str:
        """The traceback as the kernel formatted it, or `ename: evalue` when it has none."""
        if self.traceback:
            return sanitize("\n".join(str(line) for line in self.traceback))
        return sanitize(f"{self.ename}: {self.evalue}")

    @property
    def line_count(self) -> int:
        """Lines of `text`."""
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        """Characters held, for the scrollback's character budget."""
        return len(self.ename) + len(self.evalue) + sum(map(len, self.traceback))


@dataclass(eq=False)
class PageOutput(DataOutput):
    """Help (`len?`, `Counter??`) that came as a `page` payload of the cell's execute_reply.

    jupyter console prints it, and it is how most users read help; only the client that
    ran the cell receives it (shell replies go to the asker alone)."""


PASSWORD_MASK = "••••••••"
"""Stands for a password's answer in the transcript: always as long, so it tells nothing."""


@dataclass(eq=False)
class InputOutput:
    """A prompt of `input()` or `getpass()` and the answer sent to it, kept as a line of
    the cell's output: the kernel echoes neither, and the prompt row closes once answered.
    """

    prompt: str
    answer: str
    """What was sent, or `PASSWORD_MASK` for a password: the password itself is never kept."""
    password: bool = False

    @property
    def text(self) -> str:
        """The prompt followed by the answer (masked for a password)."""
        return self.prompt + self.answer

    @property
    def line_count(self) -> int:
        """Lines of `text`."""
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        """Characters held, for the scrollback's character budget."""
        return len(self.text)


Output = StreamOutput | DataOutput | ErrorOutput | InputOutput


MAX_EXECUTION_COUNT = 999_999_999
"""The largest execution count shown (nine digits, a billion cells): a larger one, a
negative one or a bool is a kernel's nonsense, and shown as unknown, not as a prompt
as wide as the screen."""


def execution_count(value: object) -> int | None:
    """`value` as an execution count, or None when it is not a plausible one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_EXECUTION_COUNT else None


RAW_TAIL_LIMIT = 1_000_000
"""Raw characters kept of a stream's unended last line: its display keeps only the last
redraw, and a progress bar's raw text would otherwise grow for as long as it runs."""


def page_output(item: object) -> PageOutput | None:
    """A payload item that pages help, as an output; None for any other payload."""
    if not isinstance(item, dict) or item.get("source") != "page":
        return None
    data = item.get("data")
    if not isinstance(data, dict):
        # IPython before 3.0 sent the text alone.
        text = item.get("text")
        data = {"text/plain": text} if isinstance(text, str) else {}
    return PageOutput(data, {}) if data else None
