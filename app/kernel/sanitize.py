"""Make untrusted kernel output safe for a terminal.

Any program in the kernel can print escape sequences that write the user's clipboard
(OSC 52), retitle the window, make the terminal type into stdin (DSR) or reset it.
Only SGR (colours and text attributes) survives; every other escape sequence and every
C0/C1 control but newline and tab is removed. Carriage return and backspace are kept
by `sanitize_stream` only long enough to rewrite lines the way a terminal would.
"""

from __future__ import annotations

import re

__all__ = ["apply_line_edits", "sanitize", "sanitize_stream"]

# Order matters: the specific introducers (CSI, OSC, string commands) come before the
# catch-all two-character escape, so their bodies are consumed, not left as text.
_ESCAPES = re.compile(
    r"""
    (?P<csi>\x1b\[[0-?]*[\ -/]*[@-~]?)       # CSI: SGR is kept, the rest dropped
    | \x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?   # OSC (title, clipboard, hyperlinks)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?          # DCS, SOS, PM, APC
    | \x1b[\ -/]*[0-~]?                      # any other escape, e.g. RIS (ESC c)
    | [\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\x80-\x9f]  # C0 (not \t \n \r \b ESC) and C1
    """,
    re.VERBOSE,
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m\Z")
_CR_BS = re.compile(r"[\r\x08]")


def _keep_sgr(match: re.Match[str]) -> str:
    csi = match.group("csi")
    if csi is not None and _SGR.match(csi):
        return csi
    return ""


def sanitize_stream(text: str) -> str:
    """Remove every escape but SGR, keeping `\\r` and `\\b` for `apply_line_edits`."""
    if "\x1b" not in text and not _has_controls(text):
        return text
    return _ESCAPES.sub(_keep_sgr, text)


def sanitize(text: str) -> str:
    """Remove every escape but SGR and every control but newline and tab."""
    return apply_line_edits(sanitize_stream(text))


_CONTROLS = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\x80-\x9f]")


def _has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


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
    if _CR_BS.search(text) is None:
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
