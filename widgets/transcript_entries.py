"""How the transcript draws its entries: a cell's header, the catch-up, a notice.

Pure: each function is given the styles (`StyleOf`, the view's component styles) and
returns a renderable; the view turns it into rows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.console import RenderableType
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text

from nbtui.app.kernel.model import Catchup, Cell, Notice
from nbtui.widgets.syntax import SYNTAX, syntax_ranges

__all__ = [
    "CODE_CLASSES",
    "INVISIBLE_MARK",
    "StyleOf",
    "catchup_lines",
    "cell_header",
    "cell_output_text",
    "notice_line",
]

StyleOf = Callable[[str], Style]
"""A component class of the transcript (`transcript--notice`) to its style."""

INVISIBLE_MARK = r"<U\+[0-9A-F]{4,6}>"
"""How `sanitize_code` shows a character that would hide or reorder code."""


CODE_CLASSES = tuple(f"transcript--code-{name}" for name in dict.fromkeys(SYNTAX.values()))
"""The component classes of code's token colours on a light theme, for COMPONENT_CLASSES:
nbtui.tcss gives them the theme's colours made readable (as the editor's)."""


@lru_cache(maxsize=8)
def _lexer(language: str) -> Lexer | None:
    try:
        # Offsets must stay those of the text: no stripped or added newlines.
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _code_text(source: str, language: str, code_style: StyleOf | None) -> Text:
    """`source` with its token colours: the theme's (`code_style`), or else Rich's
    ansi_dark style, the terminal's own colours, made for a dark background."""
    if code_style is None:
        code = Syntax(source, language, theme="ansi_dark", background_color="default").highlight(
            source
        )
        # The theme's background ("default": the terminal's own) would paint a box
        # behind the code; keep only the token colours and attributes.
        code.style = ""
        code.spans = [
            Span(span.start, span.end, _without_background(span.style)) for span in code.spans
        ]
        return code
    code = Text(source)
    lexer = _lexer(language)
    if lexer is not None:
        code.spans = [
            Span(first, end, code_style(f"transcript--code-{name}"))
            for first, end, name in syntax_ranges(lexer, source)
        ]
    return code


def _without_background(style: str | Style) -> Style:
    parsed = Style.parse(style) if isinstance(style, str) else style
    if parsed.bgcolor is None:
        return parsed
    return Style(
        color=parsed.color,
        bold=parsed.bold,
        italic=parsed.italic,
        underline=parsed.underline,
        dim=parsed.dim,
    )


def cell_header(
    cell: Cell,
    who: Text,
    language: str,
    style: StyleOf,
    waiting: str = "",
    *,
    code_style: StyleOf | None = None,
) -> RenderableType:
    """`In [n] who  code`, continuation lines aligned under the code; `waiting` (what a
    queued cell waits behind) after the first line; the code's token colours from
    `code_style` (CODE_CLASSES) when given, else Rich's ansi_dark."""
    count = cell.execution_count
    prefix = Text.assemble(
        Text(
            f"In [{count if count is not None else ' '}] ",
            style=style("transcript--prompt-in"),
        ),
        who,
        " ",
    )
    state = Text()
    if cell.state == "running":
        state = Text("  ⏵ running", style=style("transcript--running"))
    elif cell.state == "aborted":
        state = Text("  ■ interrupted", style=style("transcript--warning"))
    elif cell.state == "queued" and waiting:
        state = Text(f"  ◌ {waiting}", style=style("transcript--queued"))
    if cell.code is None:
        note = Text("(started before you joined)", style=style("transcript--notice"))
        return Text.assemble(prefix, note, state)
    source = cell.code.rstrip("\n")
    code = _code_text(source, language, code_style)
    code.rstrip()
    code.highlight_regex(INVISIBLE_MARK, style("transcript--warning"))
    lines = code.split("\n", allow_blank=True)
    indent = " " * prefix.cell_len
    out = Text.assemble(prefix, lines[0], state)
    for line in lines[1:]:
        out.append("\n" + indent)
        out.append_text(line)
    return out


def catchup_lines(catchup: Catchup, style: StyleOf) -> RenderableType:
    """The inputs from before we joined: one line folded, all of them unfolded."""
    count = len(catchup.inputs)
    shown = style("transcript--catchup")
    noun = "input" if count == 1 else "inputs"
    if not catchup.expanded:
        return Text(f"── before you joined: {count} {noun} (F5 to show) ──", style=shown)
    out = Text(f"── before you joined: {count} {noun} (F5 to hide) ──", style=shown)
    for number, code in catchup.inputs:
        prefix = f"In [{number}] "
        lines = code.rstrip("\n").split("\n")
        out.append("\n" + prefix + lines[0], style=shown)
        for line in lines[1:]:
            out.append("\n" + " " * len(prefix) + line, style=shown)
    out.append("\n── now ──", style=shown)
    return out


def notice_line(notice: Notice, style: StyleOf) -> RenderableType:
    """A notice from nbtui, styled by its level."""
    component = {
        "info": "transcript--notice",
        "warning": "transcript--warning",
        "error": "transcript--error",
    }[notice.level]
    return Text(f"── {notice.text}", style=style(component))


def cell_output_text(cell: Cell) -> str:
    """A cell's outputs as plain text, one after another, as the transcript shows them
    (colour codes removed): what `o` copies."""
    from nbtui.app.kernel.search import shown_text  # noqa: PLC0415 - startup

    texts = [shown_text(output.text).rstrip("\n") for output in cell.outputs]
    return "\n".join(text for text in texts if text)
