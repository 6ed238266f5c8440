"""The cell editor's syntax colours, from Pygments.

TextArea's own highlighting needs tree-sitter and a grammar per language (the
textual[syntax] extra: native wheels), and colours from Textual's themes. Pygments is
here already (Rich needs it; the transcript colours code with it) and knows every
kernel's language: its tokens fill TextArea's highlight map, with nbtui.tcss colours.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import TextArea

from nbtui.widgets.syntax import SYNTAX, syntax_spans

__all__ = ["SyntaxTextArea"]


class SyntaxTextArea(TextArea):
    """The cell editor's base that colours its code (`CellEditor` sets the language)."""

    # The editor's, declared for the type checker (CellEditor.__init__ sets them).
    _lexer: Lexer | None
    _lexed: bool
    _language: str | None = None
    _lexer_due = False
    """The lexer of `_language` is still to make: startup leaves it to the first text or
    to `prepare_lexer` (Pygments compiles Python's regexes once, some 50 ms)."""

    @property
    def highlight_language(self) -> str | None:
        """The Pygments lexer that colours the cell (the kernel's language), or None."""
        lexer = self._made_lexer()
        return None if lexer is None else lexer.name

    @highlight_language.setter
    def highlight_language(self, name: str | None) -> None:
        self._language = name
        self._lexer = None
        self._lexer_due = True
        self._build_highlight_map()
        self.refresh()

    def prepare_lexer(self) -> None:
        """Make the cell's lexer now, when nothing waits on it (after the first frame)."""
        self._made_lexer()

    def _made_lexer(self) -> Lexer | None:
        if self._lexer_due:
            self._lexer_due = False
            name = self._language
            try:
                # Offsets must stay those of the text: no stripped or added newlines.
                lexer = get_lexer_by_name(name, stripnl=False, ensurenl=False) if name else None
            except ClassNotFound:
                lexer = None
            self._lexer = None if lexer is None or lexer.name == "Text only" else lexer
        return self._lexer

    HIGHLIGHT_LIMIT = 20_000
    """Characters of a cell beyond which it stays plain: Pygments takes some 5 ms per
    2,000 characters of Python, and a cell is lexed whole after each edit that shows."""

    def _build_highlight_map(self) -> None:
        # TextArea calls this after every edit. Lexing waits for the next render: a burst
        # of keys (a 60-line paste typed key by key) is lexed once, when it is drawn.
        self._line_cache.clear()
        self._highlights.clear()
        self._lexed = False

    def _lex(self) -> None:
        """Fill the highlight map (rows of UTF-8 byte ranges, as TextArea's renderer
        reads it) from the lexer's tokens."""
        self._lexed = True
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        lines = self.document.lines
        size = sum(map(len, lines))
        if not size or size > self.HIGHLIGHT_LIMIT:
            return
        lexer = self._made_lexer()
        if lexer is None:
            return
        for row, first, last, name in syntax_spans(lexer, lines):
            highlights[row].append((first, last, name))

    def render_lines(self, crop: Region) -> list[Strip]:
        """TextArea's lines, after lexing the cell if an edit since the last render
        left it unlexed, with syntax styles from nbtui.tcss."""
        if not self._lexed:
            self._lex()
        if self._theme is not None:
            # TextArea's "css" theme carries fixed colours of its own for syntax.
            self._theme.syntax_styles = self._syntax_styles()
        return super().render_lines(crop)

    def _syntax_styles(self) -> dict[str, Style]:
        # Whole styles, not partial ones: a partial one drops what a colour like
        # `$text-muted` (auto 60%) needs the background for.
        return {
            name: self.get_component_rich_style(f"cell-editor--{name}") for name in SYNTAX.values()
        }
