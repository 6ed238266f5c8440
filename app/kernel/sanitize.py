"""Make untrusted kernel output safe for a terminal.

Any program in the kernel can print escape sequences that write the user's clipboard
(OSC 52), retitle the window, make the terminal type into stdin (DSR) or reset it.
Only SGR (colours and text attributes) survives; every other escape sequence and every
C0/C1 control but newline and tab is removed. Carriage return and backspace are kept
by `sanitize_stream` only long enough to rewrite lines the way a terminal would.

Invisible characters are a second kind of attack ("Trojan Source"): bidi overrides and
isolates make text display in another order than it reads, and zero-width characters
hide text or make two different names look alike. Output loses them; code (what another
client ran) shows each one as a visible `<U+XXXX>` mark instead, since there the
difference between what is shown and what runs is the whole attack.
"""

from __future__ import annotations

import re

__all__ = [
    "apply_line_edits",
    "continues_emoji",
    "ends_in_emoji_joiner",
    "sanitize",
    "sanitize_code",
    "sanitize_line",
    "sanitize_stream",
]

_CONTROL_CLASS = r"[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\x80-\x9f]"
"""C0 (not \\t \\n \\r \\b ESC) and C1 controls, as a regex character class."""

# Order matters: the specific introducers (CSI, OSC, string commands) come before the
# catch-all two-character escape, so their bodies are consumed, not left as text. Each
# has a one-character C1 form (U+009B CSI, U+009D OSC, U+0090 DCS, ...) that terminals
# honouring C1 read the same way, and U+009C is the C1 string terminator.
_ESCAPES = re.compile(
    r"""
    (?P<csi>\x1b\[[0-?]*[\ -/]*[@-~]?)       # CSI: SGR is kept, the rest dropped
    | \x9b[0-?]*[\ -/]*[@-~]?                # C1 CSI: dropped whole, SGR too
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?  # OSC (title, clipboard, links)
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?  # DCS, SOS, PM, APC
    | \x1b[\ -/]*[0-~]?                      # any other escape, e.g. RIS (ESC c)
    | """
    + _CONTROL_CLASS,
    re.VERBOSE,
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m\Z")


def _keep_sgr(match: re.Match[str]) -> str:
    csi = match.group("csi")
    if csi is not None and _SGR.match(csi):
        return csi
    return ""


def _strip_escapes(text: str) -> str:
    if "\x1b" not in text and not _has_controls(text):
        return text
    return _ESCAPES.sub(_keep_sgr, text)


def sanitize_stream(text: str) -> str:
    """Remove every escape but SGR and every invisible format character, keeping `\\r`
    and `\\b` for `apply_line_edits`."""
    text = _strip_escapes(text)
    # isascii() is O(1) on CPython (a flag of the string): plain ASCII output, the
    # flood's usual case, pays nothing for the invisible-character check.
    if text.isascii() or _HAS_INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub(_keep_emoji_joiner, text)


def sanitize(text: str) -> str:
    """Remove every escape but SGR, every control but newline and tab, and every
    invisible format character (bidi controls, zero-width characters)."""
    return apply_line_edits(sanitize_stream(text))


def sanitize_line(text: str) -> str:
    """`sanitize`, on one line: for a name, a state or a reason shown in a pane, a table or
    the status bar, where a newline would break the layout."""
    return sanitize(text).replace("\n", " ")


def sanitize_code(text: str) -> str:
    """Make code safe to show and true to what runs.

    Escapes and controls go as in `sanitize`, but a carriage return is a line break
    (Python runs `a\\rb` as two lines, so overwriting `a` would hide it), and every
    ESC (of an SGR), backspace and invisible format character is shown as a `<U+XXXX>`
    mark.
    """
    text = _strip_escapes(text)
    if "\x1b" in text:
        # Only SGR is left, but in code it is a raw character of a string literal that
        # would otherwise show as colour instead of as itself.
        text = text.replace("\x1b", "<U+001B>")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x08" in text:
        text = text.replace("\x08", "<U+0008>")
    if text.isascii() or _HAS_INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub(_mark_invisible, text)


_EMOJI = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2"
    "\u25aa-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001faff]"
)
"""Code points that are (or start) emoji: a zero-width joiner between two of them is
part of one picture (👩‍💻, 🏳️‍🌈), not a hiding place."""

# U+061C and U+200E/F are bidi marks, U+202A-E embeddings and overrides, U+2066-9
# isolates; U+200B-D zero-width space and (non-)joiners, U+2060-4 the word joiner and
# invisible operators, U+FEFF a zero-width no-break space (a BOM mid-text); U+E0000-7F
# tags, invisible letters that spell hidden text ("ASCII smuggling"), kept only inside
# a flag's tag sequence (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
_INVISIBLE_CHARS = (
    "[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
# One character class is a fast scan; the emoji and flag alternatives below are tried at
# every position, ten times slower, so only text that has one of these pays for them.
_HAS_INVISIBLE = re.compile(_INVISIBLE_CHARS)
_INVISIBLE = re.compile(
    rf"""
    (?P<emoji>{_EMOJI}[\ufe0f\U0001f3fb-\U0001f3ff]?\u200d(?={_EMOJI}))
    | (?P<flag>\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)
    | {_INVISIBLE_CHARS}
    """,
    re.VERBOSE,
)


_TRAILING_JOINER = re.compile(rf"{_EMOJI}[\ufe0f\U0001f3fb-\U0001f3ff]?\u200d\Z")
_LEADING_EMOJI = re.compile(_EMOJI)


def ends_in_emoji_joiner(text: str) -> bool:
    """`text` (raw) ends with an emoji and a zero-width joiner: the emoji it joins may
    come with the next chunk of the stream, and `sanitize_stream` alone drops it."""
    return text.endswith("\u200d") and _TRAILING_JOINER.search(text) is not None


def continues_emoji(text: str) -> bool:
    """`text` (sanitized) starts with an emoji, so a joiner held back may go before it."""
    return _LEADING_EMOJI.match(text) is not None


def _keep_emoji_joiner(match: re.Match[str]) -> str:
    if match.lastgroup is not None:
        return match.group()
    return ""


def _mark_invisible(match: re.Match[str]) -> str:
    if match.lastgroup is not None:
        return match.group()
    return f"<U+{ord(match.group()):04X}>"


_CONTROLS = re.compile(_CONTROL_CLASS)
_C0_CHARS = tuple(chr(code) for code in range(0x80) if _CONTROLS.match(chr(code)))
_C1_CHARS = tuple(chr(code) for code in range(0x80, 0xA0) if _CONTROLS.match(chr(code)))


def _has_controls(text: str) -> bool:
    if len(text) < 4096:
        return _CONTROLS.search(text) is not None
    # A megabyte line: a scan in C per character (memchr) is a fifth of the regex's
    # search, 8 ms a MB, on the thread that draws.
    if any(char in text for char in _C0_CHARS):
        return True
    return not text.isascii() and any(char in text for char in _C1_CHARS)


_SGR_OR_CHAR = re.compile(r"\x1b\[[0-9;:]*m|.", re.DOTALL)


def _apply_backspace(line: str) -> str:
    # An SGR is one zero-width token: a backspace removes the last visible character,
    # never part of an escape sequence.
    out: list[str] = []
    for token in _SGR_OR_CHAR.findall(line):
        if token == "\x08":
            for index in range(len(out) - 1, -1, -1):
                if not out[index].startswith("\x1b"):
                    del out[index]
                    break
        else:
            out.append(token)
    return "".join(out)


def apply_line_edits(text: str) -> str:
    """Resolve carriage returns and backspaces as a terminal would show them.

    Each line shows what was written after its last carriage return (a progress bar
    redrawing itself ends as its final state); a backspace removes the character before.

    Args:
        text: Text with no newline handling needed beyond splitting.

    Returns:
        The text with no `\\r` or `\\b` left.
    """
    if "\r" not in text and "\x08" not in text:  # a memchr each, many times a regex
        return text
    lines = text.split("\n")
    for index, raw in enumerate(lines):
        line = _apply_backspace(raw) if "\x08" in raw else raw
        if "\r" in line:
            # "abc\r" alone (CRLF, or a bar about to redraw) still shows "abc".
            segments = [segment for segment in line.split("\r") if segment]
            line = segments[-1] if segments else ""
        lines[index] = line
    return "\n".join(lines)
