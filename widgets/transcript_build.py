"""The transcript's entries as parts: what each cell, output, notice and catch-up line
is drawn with, in the view's styles (the view lays the parts out and draws them)."""

from __future__ import annotations

import asyncio
import contextvars
import io
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nbtui.app.kernel.messages import short_session
from nbtui.app.kernel.model import (
    Catchup,
    Cell,
    DataOutput,
    Entry,
    ErrorOutput,
    InputOutput,
    StreamOutput,
)
from nbtui.app.present import format_bytes
from nbtui.app.process import background_thread
from nbtui.widgets.images import KEPT_IMAGE_SIZE
from nbtui.widgets.mime import picture_of, render_data, render_traceback
from nbtui.widgets.output_policy import HeldNote, clipped_data, data_is_clipped
from nbtui.widgets.palette import peer_class
from nbtui.widgets.transcript_deferred import DeferredPart, ImagePart
from nbtui.widgets.transcript_entries import catchup_lines, cell_header, notice_line
from nbtui.widgets.transcript_parts import Part, RenderedPart, StreamPart

__all__ = ["DEFERRED_MARKDOWN", "PartsBuilder"]

DEFERRED_MARKDOWN = 2000
"""Characters of markdown laid out in a thread rather than between two frames (Rich lays
out a few hundred list items in about 50 ms on a quiet machine)."""

_layout_pool: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The one thread that lays out deferred parts, in the order they were asked for."""
    global _layout_pool  # noqa: PLW0603
    if _layout_pool is None:
        _layout_pool = ThreadPoolExecutor(
            1, thread_name_prefix="nbtui-layout", initializer=background_thread
        )
    return _layout_pool


_thread_consoles: weakref.WeakKeyDictionary[Console, Console] = weakref.WeakKeyDictionary()


def _thread_console(console: Console) -> Console:
    """A console like the app's, for the layout thread alone.

    Rich's Console holds a lock while it renders: shared with the UI, every frame that lays
    out a row waited for whatever the thread was rendering (a burst of plots' decoding:
    300 ms stalls). Rendering reads the options it is given and the default theme, as the
    app's console does.
    """
    own = _thread_consoles.get(console)
    if own is None:
        own = Console(
            color_system=console.color_system,  # type: ignore[arg-type]
            file=io.StringIO(),
            markup=True,
            highlight=False,
            emoji=False,
            legacy_windows=False,
            force_terminal=True,
            safe_box=False,
            soft_wrap=False,
            width=console.width,
            height=console.height,
        )
        _thread_consoles[console] = own
    return own


def _lay_out(console: Console, make: Callable[[int], RenderableType], width: int) -> list[Strip]:
    """`make(width)` as rows, in the layout thread: whatever fails is one line saying so."""
    options = console.options.update_width(width)
    try:
        lines = console.render_lines(make(width), options, pad=False)
    except Exception as error:  # noqa: BLE001  # untrusted output must not end the thread
        text = Text(f"<this output could not be laid out: {type(error).__name__}>")
        lines = console.render_lines(text, options, pad=False)
    return [Strip(line) for line in lines] or [Strip.blank(width)]


def _held_text(style: Style, held: int, unit: str) -> Text:
    note = f"… {held:,} {unit} held back (F10 shows the whole output, and saves it)"
    return Text(note, style=style)


class PartsBuilder(ScrollView):
    """The transcript view's base that makes its parts (`TranscriptView` holds them)."""

    # The view's, declared for the type checker (TranscriptView.__init__ sets them).
    language: str
    line_cache: LRUCache[tuple[object, ...], list[Strip]]
    _parts: dict[int, list[Part]]
    peer_colours: dict[str, int]
    output_limit: int
    line_limit: int
    long_outputs: list[DataOutput | StreamOutput]
    fold_tracebacks: bool
    show_peer_inputs: bool
    show_peer_outputs: bool
    waiting: dict[str, str]

    class PartLaidOut(Message, namespace="transcript_view"):
        """A deferred part's rows came from the layout thread."""

        def __init__(self, part: DeferredPart, width: int, strips: list[Strip]) -> None:
            super().__init__()
            self.part = part
            self.width = width
            self.strips = strips

    _laying_out = 0
    """Deferred layouts asked for and not yet back."""

    @property
    def laying_out(self) -> bool:
        """Whether the layout thread has work of this view in hand (tests wait for it)."""
        return self._laying_out > 0

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def render_later(
        self, part: DeferredPart, make: Callable[[int], RenderableType], width: int
    ) -> None:
        """Lay `make(width)` out in the layout thread; `PartLaidOut` brings the rows back.

        `make` runs in that thread: it must read nothing of the DOM (styles are resolved
        before it is made).
        """
        console = _thread_console(self.app.console)
        self._laying_out += 1
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()

        def done(strips: list[Strip]) -> None:
            self.post_message(self.PartLaidOut(part, width, strips))

        def job() -> None:
            strips = _lay_out(console, make, width)
            if not loop.is_closed():
                loop.call_soon_threadsafe(done, strips, context=context)

        _pool().submit(job)

    def render_strips(self, renderable: RenderableType, width: int) -> list[Strip]:
        """`renderable` as rows of `width` columns."""
        console = self.app.console
        options = console.options.update_width(width)
        lines = console.render_lines(renderable, options, pad=False)
        return [Strip(line) for line in lines]

    def render_text(self, text: Text, width: int) -> list[Strip]:
        """`text` as rows of `width` columns, at least one."""
        console = self.app.console
        lines = console.render_lines(text, console.options.update_width(width), pad=False)
        return [Strip(line) for line in lines] or [Strip.blank(width)]

    def _parts_for(self, entry: Entry, reuse: bool = False) -> list[Part]:
        """The parts that draw `entry`.

        Args:
            reuse: Keep the parts of its outputs that have not changed: a cell that
                streams gets new output every frame, and new parts would measure every
                kept line again and miss the line cache on every row.
        """
        if isinstance(entry, Cell):
            kept = self._parts.get(id(entry), []) if reuse else []
            parts = self._cell_parts(entry, {part.key: part for part in kept if part.key})
            return self._note_held_back(parts)
        if isinstance(entry, Catchup):
            return [RenderedPart(self, lambda width: catchup_lines(entry, self._style))]
        return [RenderedPart(self, lambda width: notice_line(entry, self._style))]

    def _cell_parts(self, cell: Cell, kept: dict[object, Part]) -> list[Part]:
        parts: list[Part] = []
        if cell.is_self or self.show_peer_inputs:
            # A running cell changes with every frame of output; its header rarely does.
            shown: object = (
                "header",
                cell.state,
                cell.execution_count,
                cell.code is None,
                self.peer_colours.get(cell.session),
                self.waiting.get(cell.key, ""),
            )
            parts.append(kept.get(shown) or RenderedPart(self, self._header_of(cell), shown))
        if not cell.is_self and not self.show_peer_outputs:
            return parts
        if cell.dropped_outputs:
            parts.append(RenderedPart(self, partial(self._dropped_outputs_line, cell)))
        for output in cell.outputs:
            # Parts hold their outputs, so an id in a key cannot be reused by another.
            if isinstance(output, StreamOutput):
                if output.dropped:
                    parts.append(RenderedPart(self, partial(self._dropped_line, output)))
                part = kept.get(("stream", id(output)))
                if part is None:
                    stderr = output.name == "stderr"
                    style = self._style("transcript--stderr") if stderr else Style()
                    part = StreamPart(self, output, style)
                parts.append(part)
            elif isinstance(output, DataOutput):
                shown = ("data", id(output), output.version, output.execution_count)
                part = kept.get(shown)
                if part is None:
                    # Never wider than its kept pixels: the view's width bounds it further.
                    image = picture_of(output.data, KEPT_IMAGE_SIZE[0])
                    held = None if image else output if self._is_clipped(output) else None
                    if image:
                        part = ImagePart(self, image, self._out_prompt(output), shown)
                    elif _deferred(output):
                        part = DeferredPart(
                            self, self._data_maker(output), self._waiting(output), shown, held
                        )
                    else:
                        part = RenderedPart(self, partial(self._data, cell, output), shown, held)
                parts.append(part)
            elif isinstance(output, ErrorOutput):
                shown = ("error", id(output))
                parts.append(
                    kept.get(shown) or RenderedPart(self, partial(self._error, output), shown)
                )
            else:
                shown = ("input", id(output))
                parts.append(
                    kept.get(shown) or RenderedPart(self, partial(self._input, output), shown)
                )
        return parts

    def _input(self, output: InputOutput, width: int) -> RenderableType:
        """`prompt answer`, the answer in the colour of what you typed."""
        prompt = Text.from_ansi(output.prompt) if "\x1b" in output.prompt else Text(output.prompt)
        return Text.assemble(prompt, Text(output.answer, style=self._style("transcript--self")))

    def _dropped_outputs_line(self, cell: Cell, width: int) -> Text:
        noun = "output" if cell.dropped_outputs == 1 else "outputs"
        return Text(
            f"… {cell.dropped_outputs:,} earlier {noun} not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _dropped_line(self, output: StreamOutput, width: int) -> Text:
        return Text(
            f"… {output.dropped:,} earlier lines not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _who(self, cell: Cell) -> Text:
        if cell.is_self:
            return Text("you ", style=self._style("transcript--self"))
        colour = peer_class(self.peer_colours.get(cell.session, 0))
        style = self._style("transcript--peer") + self._style(colour)
        return Text(f"{cell.username}@{short_session(cell.session)} ", style=style)

    def _header_of(self, cell: Cell) -> Callable[[int], RenderableType]:
        # ansi_dark's terminal colours are made for a dark background; a light theme gets
        # its own colours, made readable on it.
        code_style = None if self.app.current_theme.dark else self._style
        return lambda width: cell_header(
            cell,
            self._who(cell),
            self.language,
            self._style,
            self.waiting.get(cell.key, ""),
            code_style=code_style,
        )

    def _data(self, cell: Cell, output: DataOutput, width: int) -> RenderableType:
        return self._data_maker(output)(width)

    def _data_maker(self, output: DataOutput) -> Callable[[int], RenderableType]:
        """Makes the output's renderable at a width, reading nothing of the DOM (it may
        run in the layout thread): the prompt and the styles are resolved here."""
        prompt = self._out_prompt(output)
        note: HeldNote = partial(_held_text, self._style("transcript--dropped"))
        output_limit, line_limit = self.output_limit, self.line_limit

        def make(width: int) -> RenderableType:
            shown = clipped_data(output, width, output_limit, line_limit, note) or render_data(
                output.data, output.metadata, width
            )
            if prompt is None:
                return shown
            if isinstance(shown, Text) and "\n" not in shown.plain:
                return Text.assemble(prompt, shown)
            return Group(prompt, shown)

        return make

    def _waiting(self, output: DataOutput) -> Text:
        """The line a deferred output shows while it is laid out."""
        size = format_bytes(len(output.data["text/markdown"].encode("utf-8", "replace")))
        return Text(f"… laying out markdown ({size})", style=self._style("transcript--dropped"))

    def _is_clipped(self, output: DataOutput) -> bool:
        return data_is_clipped(output, self.output_limit, self.line_limit)

    def _out_prompt(self, output: DataOutput) -> Text | None:
        if output.execution_count is None:
            return None
        return Text(f"Out[{output.execution_count}]: ", style=self._style("transcript--prompt-out"))

    def _note_held_back(self, parts: list[Part]) -> list[Part]:
        """Note the outputs `parts` show clipped, so F10 can open them: read from the
        parts when they are made or updated, never while drawing."""
        for part in parts:
            output = part.held_back
            if isinstance(output, DataOutput | StreamOutput) and not any(
                known is output for known in self.long_outputs
            ):
                self.long_outputs.append(output)
        return parts

    def held_note(self, held: int, unit: str) -> Text:
        """The line saying how many `unit`s of an output were held back."""
        return _held_text(self._style("transcript--dropped"), held, unit)

    def _error(self, output: ErrorOutput, width: int) -> RenderableType:
        if not output.traceback:
            return Text.from_ansi(output.text)
        return render_traceback(output.traceback, folded=self.fold_tracebacks)


def _deferred(output: DataOutput) -> bool:
    """Whether the output is laid out in the layout thread: markdown (drawn before any
    other type but pictures) longer than `DEFERRED_MARKDOWN`."""
    markdown = output.data.get("text/markdown")
    return isinstance(markdown, str) and len(markdown) > DEFERRED_MARKDOWN
