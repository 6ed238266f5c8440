"""Where to cut the middle out of a long HTML document, before it is parsed.

Parsing and laying out cost per element, so :func:`clip_points` finds, by counting tags
in the source text, a head and a tail to keep; :mod:`nbtui.widgets.html_text` parses
those and says how much lay between.
"""

from __future__ import annotations

import re

__all__ = ["TAGS_PER_BLOCK", "clip_points"]

_BOUNDARY = re.compile(r"<(?:tr|li|p|div|br|h[1-6]|dt|dd|pre|blockquote|table|hr)[\s/>]")
"""Where a block or a table row starts (in lower case): where a long document may be cut."""
_TAG = re.compile(r"<[A-Za-z]")

TAGS_PER_BLOCK = 50
"""A document with few blocks is cut at any tag once it has this many tags per block it
may keep (parsing costs per tag, inline ones too); `max_blocks` tags are kept then."""


def clip_points(source: str, max_blocks: int) -> tuple[int, int, int, str] | None:
    """Where to cut the middle out of a long document, before it is parsed.

    Parsing and laying out cost per element (a 100,000-row table: seconds of both), so
    a document with more than `max_blocks` block starts (table rows, paragraphs, list
    items, line breaks) keeps its first and last ones only. Each cut is at a tag's `<`,
    so the parser resumes after it as if the middle had never been there.

    Returns:
        (where the head ends, where the tail starts, how many blocks lie between, their
        unit: "table rows", "blocks" or "tags"); None when it fits.
    """
    tags = source.count("<")
    if tags <= max_blocks:
        return None
    lowered = source.lower()
    marks = [mark.start() for mark in _BOUNDARY.finditer(lowered)]
    unit = "blocks"
    if len(marks) <= max_blocks:
        # Few blocks, but maybe a flood of inline tags (a coloured log as spans in one
        # <pre>): past TAGS_PER_BLOCK times the limit, cut at any tag.
        if tags <= max_blocks * TAGS_PER_BLOCK:
            return None
        marks = [mark.start() for mark in _TAG.finditer(source)]
        unit = "tags"
        if len(marks) <= max_blocks * TAGS_PER_BLOCK:
            return None
    head = (max_blocks + 1) // 2
    resume = len(marks) - (max_blocks - head)
    held = resume - head
    start = marks[head]
    end = marks[resume] if resume < len(marks) else len(source)
    if unit == "blocks" and lowered.count("<tr", start, end) == held:
        unit = "table rows"
    return start, end, held, unit
