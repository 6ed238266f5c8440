"""What of an output the transcript shows whole, and how it shows the rest.

A long output is drawn as its head and tail with a note of what was held back between:
more than `output_limit` lines of text, a line longer than `line_limit` characters, or a
markdown document longer than a quarter of `output_limit` source lines. Whether an output
is clipped is read from the output alone (`data_is_clipped`, `line_is_clipped`), never
found out while drawing it, so drawing changes no state of the view.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.text import Text

from nbtui.app.kernel.model import DataOutput
from nbtui.widgets.mime import RICHER, render_data, render_html_bundle, shows_html

__all__ = [
    "HeldNote",
    "clip_line",
    "clip_markdown",
    "clip_output",
    "clipped_data",
    "data_is_clipped",
    "html_limit",
    "markdown_limit",
]

HeldNote = Callable[[int, str], Text]
"""Makes the line that says how many (lines, characters) were held back."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def markdown_limit(output_limit: int) -> int:
    """Source lines of markdown shown whole: laying it out costs tens of times what plain
    text does, so its limit is a quarter of `output_limit`."""
    return max(1, output_limit // 4)


def _long_text(plain: str, output_limit: int, line_limit: int) -> tuple[bool, bool]:
    """(too many lines, a line too long) for a text result."""
    many = plain.count("\n") >= output_limit
    wide = len(plain) > line_limit and any(len(line) > line_limit for line in plain.split("\n"))
    return many, wide


def html_limit(output_limit: int) -> int:
    """Blocks of HTML shown whole: a tenth of `output_limit`, not markdown's quarter, as
    each table row is laid out against every other (column widths), and help or a report
    rarely has 200 blocks."""
    return max(1, output_limit // 10)


def data_is_clipped(output: DataOutput, output_limit: int, line_limit: int) -> bool:
    """Whether `clipped_data` draws `output` as head and tail (F10 then opens it whole).

    HTML shown as text is parsed to know (its clipping is found while parsing): asked once
    per version of an output, when its part is made.
    """
    if shows_html(output.data):
        return render_html_bundle(output.data, html_limit(output_limit), line_limit)[1]
    markdown = output.data.get("text/markdown")
    if isinstance(markdown, str):
        return len(markdown.split("\n")) > markdown_limit(output_limit)
    plain = output.data.get("text/plain")
    if not isinstance(plain, str) or any(kind in output.data for kind in RICHER):
        return False
    many, wide = _long_text(plain, output_limit, line_limit)
    return many or wide


def clipped_data(
    output: DataOutput, width: int, output_limit: int, line_limit: int, note: HeldNote
) -> RenderableType | None:
    """A text result with more than `output_limit` lines, or a line longer than
    `line_limit` characters, or a long markdown document, as head and tail; None when it
    fits. HTML shown as text is returned whole or clipped, never None: it is clipped
    before it is parsed.

    Args:
        output: The result.
        width: Columns available.
        output_limit: Lines of text shown before its middle is held back.
        line_limit: Characters of one line shown before its middle is held back.
        note: Makes the held-back line.
    """
    if shows_html(output.data):
        limit = html_limit(output_limit)
        return render_html_bundle(output.data, limit, line_limit, note)[0]
    markdown = output.data.get("text/markdown")
    if isinstance(markdown, str):
        clip = clip_markdown(markdown, markdown_limit(output_limit))
        if clip is None:
            return None
        head_md, held_md, tail_md = clip
        return Group(
            render_data({"text/markdown": head_md}, {}, width),
            note(held_md, "lines"),
            render_data({"text/markdown": tail_md}, {}, width),
        )
    if not data_is_clipped(output, output_limit, line_limit):
        return None
    plain = output.data["text/plain"]
    many, _ = _long_text(plain, output_limit, line_limit)
    lines = output.text.split("\n")
    if not many:
        return Group(*_clipped_lines(lines, line_limit, note))
    head = (output_limit + 1) // 2
    tail = output_limit - head
    held = len(lines) - head - tail
    return Group(
        *_clipped_lines(lines[:head], line_limit, note),
        note(held, "lines"),
        *_clipped_lines(lines[-tail:], line_limit, note),
    )


def _clipped_lines(lines: list[str], line_limit: int, note: HeldNote) -> list[RenderableType]:
    """Text lines with each one longer than `line_limit` shown as head and tail."""
    shown: list[RenderableType] = []
    run: list[str] = []
    for line in lines:
        clip = clip_line(line, line_limit)
        if clip is None:
            run.append(line)
            continue
        head, held, tail = clip
        run.append(head)
        shown.append(render_data({"text/plain": "\n".join(run)}, {}, 0))
        shown.append(note(held, "characters"))
        run = [tail]
    shown.append(render_data({"text/plain": "\n".join(run)}, {}, 0))
    return shown


def clip_output(text: str, max_lines: int) -> tuple[str, int]:
    """The head and tail of a long output, and how many lines were held back between.

    Args:
        text: The output; a final newline does not count as a line of its own.
        max_lines: The most lines kept: the first half (rounded up) and the rest from the end.

    Returns:
        (the kept lines joined, the number of lines left out); (text, 0) when it fits.
    """
    ending = "\n" if text.endswith("\n") else ""
    body = text[:-1] if ending else text
    lines = body.split("\n")
    if len(lines) <= max_lines:
        return text, 0
    if max_lines <= 0:
        return "", len(lines)
    head = (max_lines + 1) // 2
    tail = max_lines - head
    kept = lines[:head] + (lines[-tail:] if tail else [])
    return "\n".join(kept) + ending, len(lines) - max_lines


def clip_markdown(source: str, max_lines: int) -> tuple[str, int, str] | None:
    """The head and tail of a long markdown document, cut between blocks where it can.

    Laying markdown out costs far more than plain text (20,000 list items: 5 s), so a long
    document is drawn as its two ends. A cut inside a code fence would turn the rest into
    code, so each cut is moved to a blank line outside any fence, if one lies within the
    outer half of the head or tail.

    Args:
        source: The markdown as the kernel sent it.
        max_lines: The most source lines kept, split between head and tail.

    Returns:
        (head, how many source lines were held back between, tail); None when it fits.
    """
    lines = source.split("\n")
    if len(lines) <= max_lines:
        return None
    head = (max_lines + 1) // 2
    tail_start = len(lines) - (max_lines - head)
    breaks: list[int] = []
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and not line.strip():
            breaks.append(index)
    head_end = max((at for at in breaks if head // 2 <= at <= head), default=head)
    last = len(lines) - (len(lines) - tail_start) // 2
    tail_start = min((at for at in breaks if tail_start <= at <= last), default=tail_start)
    return "\n".join(lines[:head_end]), tail_start - head_end, "\n".join(lines[tail_start:])


_SGR_MAX = 64
"""Longer than any SGR a program writes: how far a cut looks back for one it would split."""


def clip_line(line: str, limit: int) -> tuple[str, int, str] | None:
    """The head and tail of a line longer than `limit` characters, or None.

    Args:
        line: Sanitized text: its only escapes are SGR sequences.
        limit: The most characters kept: the first half (rounded up) and the rest from
            the end. A cut never splits an SGR sequence.

    Returns:
        (head, how many characters were held back between, tail): the count is of
        characters a reader would see, colour codes not included.
    """
    if len(line) <= limit:
        return None
    end = (limit + 1) // 2
    start = len(line) - (limit - end)
    if "\x1b" in line:
        # A split SGR would leave "\x1b[3" in the head, or "1m" as text in the tail.
        escape = line.rfind("\x1b", max(0, end - _SGR_MAX), end)
        if escape >= 0 and "m" not in line[escape:end]:
            end = escape
        escape = line.rfind("\x1b", max(0, start - _SGR_MAX), start)
        if escape >= 0 and (close := line.find("m", escape)) >= start:
            start = min(close + 1, len(line))
        start = max(start, end)
        middle = line[end:start]
        held = len(_SGR.sub("", middle)) if "\x1b" in middle else len(middle)
    else:
        # Not copied to be counted: a megabyte line's middle is most of it, once a line.
        held = start - end
    return line[:end], held, line[start:]
