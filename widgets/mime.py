"""Render a Jupyter mime bundle or a traceback as safe Rich renderables.

Kernel output is untrusted: every string from a bundle goes through
`nbtui.app.kernel.sanitize.sanitize` before it becomes a renderable, and it only ever
becomes a `Text`, `Markdown` or highlighted JSON object, never console markup. Markdown
links are shown as text, never as OSC 8 hyperlinks. Pure functions: nothing here touches a
console or the app, so the transcript can cache what they return per width.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.json import JSON
from rich.panel import Panel
from rich.style import Style
from rich.text import Text

from nbtui.app.kernel.model import is_default_repr
from nbtui.app.kernel.sanitize import sanitize
from nbtui.app.present import format_bytes
from nbtui.widgets.images import Picture

if TYPE_CHECKING:
    from nbtui.widgets.html_text import HeldNote

__all__ = [
    "IMAGE_MIMES",
    "REGISTRY",
    "RICHER",
    "MimeRenderer",
    "picture_of",
    "placeholder",
    "render_data",
    "render_html_bundle",
    "render_traceback",
    "shows_html",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
"""An ipywidgets view: only a browser can draw it."""

JSON_FOLD_LINES = 40
"""Pretty-printed JSON longer than this shows its head and a count of what is left."""

JSON_HEAD_LINES = 30
"""How many lines of a folded JSON document are shown."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
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


def _render_picture(kind: str, data: dict[str, Any], width: int) -> RenderableType | None:
    image = Picture.from_data(data[kind], width)
    # An image that does not decode falls through to the next type.
    return image if image is not None and image.picture is not None else None


def _render_markdown(data: dict[str, Any], width: int) -> RenderableType:
    # Deferred: markdown-it and rich.markdown are 15 ms of every startup otherwise.
    from rich.markdown import Markdown  # noqa: PLC0415

    return Markdown(_clean(data["text/markdown"]), hyperlinks=False)


def shows_html(data: dict[str, Any]) -> bool:
    """Whether `render_data` draws the bundle's HTML: it has no type the registry prefers
    (pictures aside: one that opens is drawn before this is asked), and its text/plain is
    missing or only the object's default repr (`<IPython.core.display.HTML object>`). A
    pandas frame's text/plain is the frame itself, and wins."""
    if "text/html" not in data:
        return False
    for entry in REGISTRY:
        if entry.mimetype == "text/html":
            break
        if not entry.picture and entry.mimetype in data:
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


def _render_html(data: dict[str, Any], width: int) -> RenderableType:
    if shows_html(data):
        return render_html_bundle(data)[0]
    note = Text("(HTML output; showing text/plain)", style=_DIM)
    return Group(_ansi_text(data["text/plain"]), note)


@dataclass(frozen=True)
class MimeRenderer:
    """One mimetype the transcript can draw, and how."""

    mimetype: str
    render: Callable[[dict[str, Any], int], RenderableType | None]
    """From the whole bundle and the columns available; None passes to the next type."""
    shows_plain: bool = False
    """It draws the bundle's text/plain (or is text/plain): a long one is clipped as text."""
    picture: bool = False
    """A raster drawn as a picture (kitty graphics or half blocks), laid out from its header."""


REGISTRY: tuple[MimeRenderer, ...] = (
    MimeRenderer(
        "image/png", lambda data, width: _render_picture("image/png", data, width), picture=True
    ),
    MimeRenderer(
        "image/jpeg", lambda data, width: _render_picture("image/jpeg", data, width), picture=True
    ),
    MimeRenderer("text/markdown", _render_markdown),
    MimeRenderer("application/json", lambda data, width: _render_json(data["application/json"])),
    MimeRenderer("text/latex", lambda data, width: _render_latex(data["text/latex"])),
    MimeRenderer(
        WIDGET_MIME, lambda data, width: _plain_or_placeholder(data, WIDGET_MIME), shows_plain=True
    ),
    MimeRenderer("text/html", _render_html, shows_plain=True),
    MimeRenderer(
        "text/plain", lambda data, width: _ansi_text(data["text/plain"]), shows_plain=True
    ),
)
"""Every mimetype drawn, most preferred first: `render_data` draws a bundle with the first
entry whose type it holds and whose renderer does not pass. A new type is one entry here."""

RICHER = tuple(entry.mimetype for entry in REGISTRY if not entry.shows_plain and not entry.picture)
"""Types preferred to text/plain that do not show it: such outputs are not clipped as text.
(A picture that opens is drawn as a picture; one that does not is shown as the rest.)"""

IMAGE_MIMES = tuple(entry.mimetype for entry in REGISTRY if entry.picture)
"""Raster types drawn as pictures (when Pillow is installed), preferred first."""


def picture_of(data: dict[str, Any], width: int) -> Picture | None:
    """The bundle's first picture whose header opens, not yet decoded; None if none does."""
    for kind in IMAGE_MIMES:
        if kind in data:
            image = Picture.from_data(data[kind], width)
            if image is not None:
                return image
    return None


def render_data(data: dict[str, Any], metadata: dict[str, Any], width: int) -> RenderableType:
    """The richest view of a mime bundle that a terminal can show.

    Preference is `REGISTRY`'s order: PNG or JPEG as a picture (needs Pillow;
    undecodable images fall through), markdown, JSON (folded past `JSON_FOLD_LINES`),
    LaTeX source in a labelled box, an ipywidget's text/plain, HTML as text when its
    text/plain is only a default repr (`shows_html`; a long document held back in its
    middle), else HTML's text/plain with a note, text/plain with its colours, and last one
    placeholder line naming the types and their sizes.

    Args:
        data: The bundle's `data`: mimetype to value (a string, a list of lines, or
            parsed JSON for JSON types).
        metadata: The bundle's `metadata`; unused for now, kept for image sizes.
        width: Columns available; pictures are drawn no wider.

    Returns:
        A renderable with no escape sequence but SGR in it.
    """
    del metadata  # image width/height hints are not honoured yet
    for entry in REGISTRY:
        if entry.mimetype in data:
            shown = entry.render(data, width)
            if shown is not None:
                return shown
    return placeholder(data.items())


# -- tracebacks -----------------------------------------------------------


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
