"""Render a Jupyter mime bundle, a traceback or a long output as safe Rich renderables.

Kernel output is untrusted: every string from a bundle goes through
`nbtui.app.kernel.sanitize.sanitize` before it becomes a renderable, and it only ever
becomes a `Text`, `Markdown` or highlighted JSON object, never console markup. Markdown
links are shown as text, never as OSC 8 hyperlinks. Pure functions: nothing here touches a
console or the app, so the transcript can cache what they return per width.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.console import Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.json import JSON
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from nbtui.app.kernel.model import is_default_repr
from nbtui.app.kernel.sanitize import sanitize
from nbtui.app.present import format_bytes

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from rich.console import Console, ConsoleOptions, RenderResult

    from nbtui.widgets.html_text import HeldNote

__all__ = [
    "HalfBlockImage",
    "clip_line",
    "clip_markdown",
    "clip_output",
    "picture_of",
    "placeholder",
    "render_data",
    "render_html_bundle",
    "render_traceback",
    "shows_html",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
"""An ipywidgets view: only a browser can draw it."""

IMAGE_MIMES = ("image/png", "image/jpeg")
"""Raster types drawn as half-block pictures (when Pillow is installed)."""

JSON_FOLD_LINES = 40
"""Pretty-printed JSON longer than this shows its head and a count of what is left."""

JSON_HEAD_LINES = 30
"""How many lines of a folded JSON document are shown."""

MAX_IMAGE_ROWS = 60
"""A picture is never taller than this many terminal rows (two pixels each)."""

KEPT_IMAGE_SIZE = (1024, MAX_IMAGE_ROWS * 4)
"""A decoded picture is shrunk to fit this (pixels) at once: it is never drawn larger, and
a loop showing a hundred full-size plots must not hold or resample them whole."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_FENCE = re.compile(r" {0,3}(```|~~~)")
_RULE = re.compile(r"-{10,}\s*")
_DIM = Style(dim=True)


def _as_str(value: Any) -> str:
    """A bundle value as one string: nbformat allows a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


def _clean(value: Any) -> str:
    """Untrusted text with every escape (SGR too) and control but newline and tab removed.

    For sources whose meaning is their characters (markdown, JSON, LaTeX): a colour code
    in them is noise, and a raw ESC inside a `Markdown` or `Text` would reach the terminal.
    """
    return _SGR.sub("", sanitize(_as_str(value)))


def _ansi_text(value: Any) -> Text:
    """Untrusted text with its SGR colours kept as styles and everything else removed."""
    clean = sanitize(_as_str(value))
    return Text.from_ansi(clean) if "\x1b" in clean else Text(clean)


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "replace"))
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return sum(len(part.encode("utf-8", "replace")) for part in value)
    try:
        return len(json.dumps(value, default=str).encode("utf-8", "replace"))
    except (TypeError, ValueError):
        return len(str(value).encode("utf-8", "replace"))


def placeholder(mimetypes: Iterable[tuple[str, Any]]) -> Text:
    """One dim line naming each type and the size of its data.

    Args:
        mimetypes: (mimetype, data) pairs.

    Returns:
        For example `<image/svg+xml, 12 KiB>`.
    """
    parts = [f"{_clean(kind)}, {format_bytes(_size(value))}" for kind, value in mimetypes]
    return Text(f"<{'; '.join(parts) or 'empty output'}>", style=_DIM, no_wrap=False)


# -- images ------------------------------------------------------------------------------


def kept_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a picture of `size` pixels is kept at: shrunk to fit KEPT_IMAGE_SIZE."""
    width, height = max(1, size[0]), max(1, size[1])
    scale = min(1.0, KEPT_IMAGE_SIZE[0] / width, KEPT_IMAGE_SIZE[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode_image(value: Any) -> PILImage | None:
    """A base64 PNG or JPEG as an RGB picture at its kept size, or None when it fails."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        raw = base64.b64decode(_as_str(value).strip(), validate=False)
        with Image.open(io.BytesIO(raw)) as opened:
            size = kept_size(opened.size)
            # A JPEG decodes straight to a fraction of its size; other formats are shrunk
            # after decoding.
            opened.draft("RGB", size)
            opened.load()
            picture: PILImage = opened
            if picture.mode in ("RGBA", "LA") or "transparency" in picture.info:
                picture = picture.convert("RGBA")
                backdrop = Image.new("RGBA", picture.size, (0, 0, 0, 255))
                picture = Image.alpha_composite(backdrop, picture)
            picture = picture.convert("RGB")
            if picture.size != size:
                picture = picture.resize(size, Image.Resampling.LANCZOS)
            return picture
    except (
        binascii.Error,
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
    ):
        return None


class HalfBlockImage:
    """A picture drawn with upper-half blocks: two pixels per cell, foreground over background.

    Its size comes from the image's header, and it is decoded only when first drawn: the
    transcript lays out a burst of plots without decoding those never scrolled to. It is
    resampled when rendered, to the narrower of its width and the space given, so a pane
    that shrinks never wraps the picture.
    """

    def __init__(self, value: Any, size: tuple[int, int], width: int) -> None:
        self.value = value
        """The base64 PNG or JPEG, as the bundle holds it (not a copy of its bytes)."""
        self.size = kept_size(size)
        """The decoded picture's size in pixels, known before decoding."""
        self.width = max(1, width)
        """The widest it may be drawn, in terminal columns."""
        self._picture: PILImage | None = None
        self._decoded = False

    @classmethod
    def from_data(cls, value: Any, width: int) -> HalfBlockImage | None:
        """From a bundle's base64 value, reading only the header; None when Pillow is
        missing or cannot open it."""
        try:
            from PIL import Image, UnidentifiedImageError  # noqa: PLC0415
        except ImportError:
            return None
        try:
            raw = base64.b64decode(_as_str(value).strip(), validate=False)
            with Image.open(io.BytesIO(raw)) as opened:
                size = opened.size
        except (
            binascii.Error,
            UnidentifiedImageError,
            OSError,
            ValueError,
            Image.DecompressionBombError,
        ):
            return None
        return cls(value, size, width)

    @property
    def picture(self) -> PILImage | None:
        """The decoded RGB picture (decoded on first use); None if its data is broken."""
        if not self._decoded:
            self._picture = _decode_image(self.value)
            self._decoded = True
        return self._picture

    def rows(self, max_width: int) -> int:
        """Terminal rows it takes at `max_width` columns, without decoding it."""
        return self._size(max_width)[1] // 2

    def _size(self, max_width: int) -> tuple[int, int]:
        source_width, source_height = self.size
        columns = max(1, min(self.width, max_width, source_width))
        pixel_rows = max(1, round(source_height * columns / source_width))
        if pixel_rows > MAX_IMAGE_ROWS * 2:
            pixel_rows = MAX_IMAGE_ROWS * 2
            columns = max(1, min(columns, round(source_width * pixel_rows / source_height)))
        pixel_rows += pixel_rows % 2
        return columns, pixel_rows

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        columns, _ = self._size(options.max_width)
        return Measurement(columns, columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from PIL import Image  # noqa: PLC0415

        columns, pixel_rows = self._size(options.max_width)
        picture = self.picture
        if picture is None:
            # Broken past its header: as many blank rows as were laid out.
            yield from [Segment(" " * columns), Segment.line()] * (pixel_rows // 2)
            return
        small = picture.resize((columns, pixel_rows), Image.Resampling.LANCZOS)
        pixels = small.load()
        assert pixels is not None
        newline = Segment.line()
        for row in range(0, pixel_rows, 2):
            for column in range(columns):
                top = pixels[column, row]
                bottom = pixels[column, row + 1]
                assert isinstance(top, tuple)
                assert isinstance(bottom, tuple)
                yield Segment("▀", Style.from_color(_rgb(top), _rgb(bottom)))
            yield newline


@lru_cache(maxsize=65_536)
def _rgb(pixel: tuple[int, ...]) -> Color:
    # Cached: Rich names each colour by formatting its hex, a cost paid per cell, while a
    # plot has few distinct colours.
    red, green, blue = pixel[:3]
    return Color.from_rgb(red, green, blue)


# -- the other types -----------------------------------------------------------------------


def _render_json(value: Any) -> RenderableType:
    if isinstance(value, str):  # some kernels send the document unparsed
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return Text(_clean(value))
    total = _json_lines(value)
    if total <= JSON_FOLD_LINES:
        return JSON(_dump(value))
    # Only the head is shown: dump a copy cut down to what the head can reach, so a big
    # or deeply nested document costs neither a stalled frame nor a RecursionError.
    lines = _dump(_pruned(value, JSON_HEAD_LINES + 1)).split("\n")
    head = JSONHighlighter()(Text("\n".join(lines[:JSON_HEAD_LINES])))
    head.no_wrap = True
    head.overflow = "ellipsis"
    more = Text(f"… {total - JSON_HEAD_LINES} more lines", style=_DIM)
    return Group(head, more)


def _dump(value: Any) -> str:
    return json.dumps(_clean_json(value), indent=2, ensure_ascii=False, default=str)


def _json_lines(value: Any) -> int:
    """How many lines `json.dumps(value, indent=2)` makes, without making them: each
    member starts a line, and each non-empty container ends with one more."""
    lines = 1
    stack = [value]
    while stack:
        node = stack.pop()
        members = list(node.values()) if isinstance(node, dict) else node
        if isinstance(members, list | tuple) and members:
            lines += len(members) + 1
            stack.extend(m for m in members if isinstance(m, dict | list | tuple))
    return lines


def _pruned(value: Any, keep: int) -> Any:
    """`value` with no container past its first `keep` members or `keep` levels deep:
    its first `keep - 1` lines, dumped, are those of the whole document."""
    if keep <= 0:
        return {} if isinstance(value, dict) else [] if isinstance(value, list | tuple) else value
    if isinstance(value, dict):
        return {key: _pruned(item, keep - 1) for key, item in islice(value.items(), keep)}
    if isinstance(value, list | tuple):
        return [_pruned(item, keep - 1) for item in value[:keep]]
    return value


def _clean_json(value: Any) -> Any:
    """A JSON value with every key and string sanitized, so no control reaches the dump."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(str(key)): _clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clean(str(value))


def _render_latex(value: Any) -> RenderableType:
    return Panel(
        Text(_clean(value).strip("\n"), style=_DIM),
        title=Text("LaTeX", style=_DIM),
        title_align="left",
        border_style=_DIM,
        expand=False,
    )


def _plain_or_placeholder(data: dict[str, Any], kind: str) -> RenderableType:
    if "text/plain" in data:
        return _ansi_text(data["text/plain"])
    return placeholder([(kind, data[kind])])


def shows_html(data: dict[str, Any]) -> bool:
    """Whether `render_data` draws the bundle's HTML: it has no richer type, and its
    text/plain is missing or only the object's default repr
    (`<IPython.core.display.HTML object>`). A pandas frame's text/plain is the frame
    itself, and wins."""
    if "text/html" not in data:
        return False
    if any(kind in data for kind in ("text/markdown", "application/json", "text/latex")):
        return False
    if WIDGET_MIME in data:
        return False
    return "text/plain" not in data or is_default_repr(_as_str(data["text/plain"]))


def render_html_bundle(
    data: dict[str, Any],
    max_blocks: int = 200,
    max_chars: int = 10_000,
    note: HeldNote | None = None,
) -> tuple[RenderableType, bool]:
    """A bundle's HTML as text (see `nbtui.widgets.html_text`), or one placeholder line
    when nothing in it would show (a plot that only a script draws).

    Returns:
        (the renderable, whether part of it was held back).
    """
    # Deferred, as markdown is: html.parser and Rich's table are 30 ms of a startup.
    from nbtui.widgets.html_text import render_html  # noqa: PLC0415

    source = _as_str(data["text/html"])
    blocks, clipped = render_html(source, max_blocks, max_chars, note)
    if not blocks:
        return placeholder([("text/html", data["text/html"])]), False
    return (blocks[0] if len(blocks) == 1 else Group(*blocks)), clipped


def picture_of(data: dict[str, Any], width: int) -> HalfBlockImage | None:
    """The bundle's first PNG or JPEG that opens, not yet decoded; None if none does."""
    for kind in IMAGE_MIMES:
        if kind in data:
            image = HalfBlockImage.from_data(data[kind], width)
            if image is not None:
                return image
    return None


def render_data(data: dict[str, Any], metadata: dict[str, Any], width: int) -> RenderableType:
    """The richest view of a mime bundle that a terminal can show.

    Preference: PNG or JPEG as a half-block picture (needs Pillow; undecodable images fall
    through), markdown, JSON (folded past `JSON_FOLD_LINES`), LaTeX source in a labelled
    box, an ipywidget's text/plain, HTML as text when its text/plain is only a default
    repr (`shows_html`; a long document held back in its middle), else HTML's
    text/plain with a note, text/plain with its colours, and last one placeholder line
    naming the types and their sizes.

    Args:
        data: The bundle's `data`: mimetype to value (a string, a list of lines, or
            parsed JSON for JSON types).
        metadata: The bundle's `metadata`; unused for now, kept for image sizes.
        width: Columns available; pictures are drawn no wider.

    Returns:
        A renderable with no escape sequence but SGR in it.
    """
    del metadata  # image width/height hints are not honoured yet
    image = picture_of(data, width)
    if image is not None and image.picture is not None:
        return image
    if "text/markdown" in data:
        # Deferred: markdown-it and rich.markdown are 15 ms of every startup otherwise.
        from rich.markdown import Markdown  # noqa: PLC0415

        return Markdown(_clean(data["text/markdown"]), hyperlinks=False)
    if "application/json" in data:
        return _render_json(data["application/json"])
    if "text/latex" in data:
        return _render_latex(data["text/latex"])
    if WIDGET_MIME in data:
        return _plain_or_placeholder(data, WIDGET_MIME)
    if shows_html(data):
        return render_html_bundle(data)[0]
    if "text/html" in data:
        note = Text("(HTML output; showing text/plain)", style=_DIM)
        return Group(_ansi_text(data["text/plain"]), note)
    if "text/plain" in data:
        return _ansi_text(data["text/plain"])
    return placeholder(data.items())


# -- tracebacks and long outputs -----------------------------------------------------------


def _is_header(entry: str) -> bool:
    plain = _SGR.sub("", entry).strip()
    return bool(_RULE.fullmatch(plain)) or "Traceback (most recent call last)" in plain


def render_traceback(lines: list[str], folded: bool, keep: int = 3) -> RenderableType:
    """An error's traceback with its colours, folded to its last frames.

    Args:
        lines: The error's `traceback`: ipykernel sends a rule, a header, one entry per
            frame (each several lines) and the final `Name: value` line.
        folded: Show only the last `keep` frames and a line saying how many are hidden.
        keep: Frames shown when folded.

    Returns:
        The traceback as sanitized, coloured text.
    """
    entries = [sanitize(_as_str(entry)).rstrip("\n") for entry in lines]
    if not entries:
        return Text("")
    header: list[str] = []
    while len(header) < len(entries) - 1 and _is_header(entries[len(header)]):
        header.append(entries[len(header)])
    frames = entries[len(header) : -1]
    final = entries[-1]
    hidden = len(frames) - max(0, keep) if folded else 0
    shown: list[Text] = [Text.from_ansi(entry) for entry in header]
    if hidden > 0:
        noun = "frame" if hidden == 1 else "frames"
        shown.append(Text(f"… {hidden} earlier {noun} (F7 to unfold)", style=_DIM))
        frames = frames[hidden:]
    shown.extend(Text.from_ansi(entry) for entry in frames)
    shown.append(Text.from_ansi(final))
    return Text("\n").join(shown)


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
    return line[:end], held, line[start:]
