"""Parts laid out in the layout thread (`PartHost.render_later`): a long markdown document,
and a picture drawn as half blocks. They show something of the right kind meanwhile (one
line saying so; the picture's blank rows) and take their rows when they come back."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Group, RenderableType
from rich.text import Text
from textual.strip import Strip

from nbtui.widgets.graphics import graphics
from nbtui.widgets.images import Picture
from nbtui.widgets.transcript_parts import PartHost, RenderedPart

__all__ = ["DeferredPart", "ImagePart"]


class DeferredPart(RenderedPart):
    """A renderable too slow to lay out between two frames (a long markdown document):
    laid out in a thread (`PartHost.render_later`), one line saying so shown until then.

    Rich's layout is pure Python, but a thread gives the GIL back every few milliseconds,
    so the event loop keeps reading keys and drawing frames meanwhile.
    """

    def __init__(
        self,
        view: PartHost,
        make: Callable[[int], RenderableType],
        waiting: Text,
        key: object = None,
        held: object | None = None,
    ) -> None:
        super().__init__(view, make, key, held)
        self._waiting = waiting
        self._asked = -1
        """The width last handed to the thread."""
        self.revision = 0

    @property
    def pending(self) -> bool:
        """Whether it shows the waiting line (its rows are still being laid out)."""
        return self._width != self._asked or self._width < 0

    def _render(self, width: int) -> list[Strip]:
        if width == self._width:
            return self._strips
        if width != self._asked:
            self._asked = width
            self._view.render_later(self, self._make, width)
        return self._waiting_rows(width)

    def _waiting_rows(self, width: int) -> list[Strip]:
        return self._view.render_text(self._waiting, width)

    def ready(self, width: int, strips: list[Strip]) -> bool:
        """The rows laid out at `width`, from the thread; False when the part has since
        been asked for another width (those rows are dropped, the newer ones come)."""
        if width != self._asked:
            return False
        self._strips = strips
        self._width = width
        self.revision += 1
        return True


class ImagePart(DeferredPart):
    """A picture and its Out[n] prompt, laid out from the image's header and decoded only
    when a row of it is drawn: a burst of plots decodes only those scrolled to.

    Drawn as half blocks, the picture is decoded and resampled in a thread (Pillow lets
    go of the GIL while it does), its rows blank until then; kitty graphics are not
    decoded here at all, and are drawn at once.
    """

    def __init__(self, view: PartHost, image: Picture, prompt: Text | None, key: object) -> None:
        super().__init__(view, lambda width: Group(prompt, image) if prompt else image, Text(), key)
        self._image = image
        self._prompt = prompt
        self._height = 0
        self._height_width = -1

    def _render(self, width: int) -> list[Strip]:
        if graphics.mode != "halfblock":
            return RenderedPart._render(self, width)
        return super()._render(width)

    def _waiting_rows(self, width: int) -> list[Strip]:
        prompt = self._view.render_text(self._prompt, width) if self._prompt else []
        return prompt + [Strip.blank(width)] * self._image.rows(width)

    def height(self, width: int) -> int:
        """Rows at `width`: the prompt's, then the picture's (known from its header)."""
        # Asked for every row drawn below it in its cell: a hundred plots in one cell
        # would otherwise work out every picture's size for every row of the screen.
        if width != self._height_width:
            prompt = len(self._view.render_text(self._prompt, width)) if self._prompt else 0
            self._height = prompt + self._image.rows(width)
            self._height_width = width
        return self._height

    def strip(self, row: int, width: int) -> Strip:
        """Row `row`; the picture is decoded when a row of it is first drawn."""
        strips = self._render(width)
        return strips[row] if row < len(strips) else Strip.blank(width)
