"""Syntax colours for the cell editor from Pygments tokens.

TextArea's own highlighting needs tree-sitter and a grammar per language (native
wheels), and colours from Textual's themes. Pygments is here already and knows every
kernel's language: :func:`syntax_spans` turns its tokens into the byte ranges that
TextArea's highlight map holds, named after :data:`SYNTAX`, which nbtui.tcss colours.
Nothing here imports Textual.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence

from pygments.lexer import Lexer
from pygments.token import Token, _TokenType

__all__ = ["SYNTAX", "syntax_ranges", "syntax_spans"]


SYNTAX: dict[_TokenType, str] = {
    Token.Keyword: "keyword",
    Token.Operator.Word: "keyword",
    Token.Keyword.Constant: "constant",
    Token.Name.Builtin: "builtin",
    Token.Name.Exception: "builtin",
    Token.Name.Function: "function",
    Token.Name.Class: "class",
    Token.Name.Decorator: "decorator",
    Token.Literal.String: "string",
    Token.Literal.Number: "number",
    Token.Comment: "comment",
}
"""Pygments token types (and their subtypes) that get a colour: each name is a component
class `cell-editor--NAME`, styled in nbtui.tcss with the theme's variables."""


_SYNTAX_NAMES: dict[_TokenType, str | None] = {}


def _syntax_name(token: _TokenType) -> str | None:
    """The SYNTAX name of `token` or of its nearest ancestor type that has one."""
    try:
        return _SYNTAX_NAMES[token]
    except KeyError:
        pass
    name = None
    ancestor: _TokenType | None = token
    while ancestor is not None and name is None:
        name = SYNTAX.get(ancestor)
        ancestor = ancestor.parent
    _SYNTAX_NAMES[token] = name
    return name


def syntax_ranges(lexer: Lexer, text: str) -> Iterator[tuple[int, int, str]]:
    """(first character, end character, SYNTAX name) of each coloured token of `text`,
    whitespace-only tokens skipped; `lexer` made with `stripnl=False, ensurenl=False`."""
    for index, token, value in lexer.get_tokens_unprocessed(text):
        name = _syntax_name(token)
        if name is not None and value.strip():
            yield index, index + len(value), name


def syntax_spans(lexer: Lexer, lines: Sequence[str]) -> Iterator[tuple[int, int, int, str]]:
    """The coloured spans of `lines` (a document's lines, without their newlines).

    Args:
        lexer: Made with `stripnl=False, ensurenl=False`, so its offsets are the text's.
        lines: The text, line by line.

    Yields:
        (row, first byte, end byte, SYNTAX name) per token piece on one row, in UTF-8
        byte offsets as TextArea's renderer reads them; whitespace-only tokens skipped.
    """
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    for index, token, value in lexer.get_tokens_unprocessed("\n".join(lines)):
        name = _syntax_name(token)
        if name is None or not value.strip():
            continue
        end = index + len(value)
        row = bisect_right(starts, index) - 1
        while row < len(lines) and starts[row] < end:
            line = lines[row]
            first = max(index, starts[row]) - starts[row]
            last = min(end - starts[row], len(line))
            if last > first:
                if not line.isascii():
                    first, last = len(line[:first].encode()), len(line[:last].encode())
                yield row, first, last, name
            row += 1
