"""Hostile kernel output never reaches the user's terminal: checked on the bytes a pty gets.

The installed `nbtui --existing` runs on a real pseudo-terminal (100x30, TERM=xterm-256color)
attached to a real kernel. Another client, as a peer would, runs cells that write escape
sequences which attack a terminal: a clipboard write (OSC 52), a title change (OSC 0), a
cursor report request that makes the terminal type into stdin (DSR), a full reset (RIS),
the same request as a one-byte C1 CSI, a DCS string, a switch to the alternate screen, and
an OSC ended by BEL whose ST comes later. Each is sent through every path that puts kernel
text on screen: stdout, stderr, a display_data and an execute_result text/plain, markdown,
JSON, LaTeX and HTML bundles, an error's traceback, and the peer's own code. Every byte the
pty master receives is read and kept; each case waits (with a deadline) until its end
marker was drawn.

Textual itself writes control sequences too: at start the alternate screen
(`ESC[?1049h`), mouse, focus and paste modes, the kitty keyboard flags (`ESC[>25u`), mode
queries (`ESC[?2026$p`) and the pointer shape `ESC]22;default` (an OSC), and at exit their
undoing. So the checks are of three kinds: payloads that only kernel content carries (the
base64 `aGVsbG8=`, the title texts, the DCS body) and sequences Textual never writes (C1
CSI, `ESC[6n`, `ESC P`) must appear nowhere, from start to exit; between attaching and
quitting, every escape must be a CSI (no OSC, DCS, RIS...) and none of the hostile ones;
and the alternate screen is entered exactly once, by Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from tests.e2e.terminal import Pty, run, start_on_pty
from tests.ui.conftest import peer as another_client

pytestmark = pytest.mark.e2e

COLUMNS, ROWS = 100, 30

HOSTILE: dict[str, str] = {
    "osc52": "\x1b]52;c;aGVsbG8=\x07",
    "osc0_title": "\x1b]0;PWNED-TITLE\x07",
    "dsr": "\x1b[6n",
    "ris": "\x1bc",
    "c1_csi": "\x9b6n",
    "dcs": "\x1bPqDCS-BODY#0;2;0;0;0~\x1b\\",
    "alt_screen": "\x1b[?1049h",
    "bel_osc_then_st": "\x1b]0;HALF-TITLE\x07kept\x1b\\",
}
"""Name to sequence: what a program in the kernel can print to attack the terminal."""

PAYLOADS = (b"aGVsbG8=", b"PWNED-TITLE", b"HALF-TITLE", b"DCS-BODY")
"""Text that only the hostile sequences carry: it must appear nowhere, drawn or raw."""

ROUTES = (
    "stdout",
    "stderr",
    "display_data",
    "execute_result",
    "markdown",
    "json",
    "latex",
    "html",
    "error",
    "code",
)
"""The ways kernel text reaches the screen."""


def _code(route: str, begin: str, payload: str, end: str) -> str:
    """A cell that puts begin + payload + end on screen by `route`.

    The peer's code is on screen too, so only the output may spell a marker or a payload:
    the markers are split in the source (`"END-" "07"`) and the payload is built from hex,
    so the code itself carries neither a control character nor the payload's text, except
    for the `code` route, whose comment holds the raw sequence.
    """
    hidden = f"bytes.fromhex({payload.encode().hex()!r}).decode()"
    text = f"{begin[:3]!r} {begin[3:]!r} + {hidden} + {end[:4]!r} {end[4:]!r}"
    if route == "stdout":
        return f"print({text})"
    if route == "stderr":
        return f"import sys; print({text}, file=sys.stderr)"
    if route == "display_data":
        return f"from IPython.display import display; display({{'text/plain': {text}}}, raw=True)"
    if route == "execute_result":
        return f"type('Hostile', (), {{'__repr__': lambda self: {text}}})()"
    if route == "markdown":
        return (
            "from IPython.display import display; "
            f"display({{'text/markdown': {text}, 'text/plain': {text}}}, raw=True)"
        )
    if route in ("json", "latex", "html"):
        # Each with the same text/plain: shown whether or not the rich type is rendered.
        kind, value = {
            "json": ("application/json", f"{{'k': {text}}}"),
            "latex": ("text/latex", text),
            "html": ("text/html", text),
        }[route]
        return (
            "from IPython.display import display; "
            f"display({{{kind!r}: {value}, 'text/plain': {text}}}, raw=True)"
        )
    if route == "error":
        return f"raise ValueError({text})"
    if route == "code":
        return f"# {begin}{payload}{end}\npass"
    raise AssertionError(route)


@pytest.fixture
def nbtui(kernel: KernelManager) -> Iterator[Pty]:
    pty = start_on_pty("--existing", kernel.connection_file, columns=COLUMNS, rows=ROWS)
    try:
        yield pty
    finally:
        pty.close()


@pytest.fixture
def peer(kernel: KernelManager) -> Iterator[BlockingKernelClient]:
    with another_client(kernel) as client:
        yield client


def quit_nbtui(pty: Pty) -> None:
    pty.write(b"\x11")  # ctrl+q
    assert pty.wait_exit() == 0, bytes(pty.received[-2000:])


def count(data: bytes, needle: bytes) -> int:
    return len(re.findall(re.escape(needle), data))


@pytest.mark.timeout(300)
def test_no_hostile_sequence_reaches_the_terminal(
    nbtui: Pty, peer: BlockingKernelClient, kernel: KernelManager
) -> None:
    # Attached: the status line says idle once the kernel answered.
    nbtui.read_until(b"idle")
    start = len(nbtui.received)

    cases: list[tuple[str, str, int, int]] = []
    for index, (route, name) in enumerate((route, name) for route in ROUTES for name in HOSTILE):
        begin, end = f"BEGIN-{index:02d}", f"END-{index:02d}"
        before = len(nbtui.received)
        run(peer, _code(route, begin, HOSTILE[name], end))
        stop = nbtui.read_until(end.encode(), before)
        cases.append((route, name, before, stop))
    after = bytes(nbtui.received[start:])

    quit_nbtui(nbtui)
    assert kernel.is_alive()
    everything = bytes(nbtui.received)

    problems: list[str] = []
    # Kernel-only payloads: anywhere at all, from start to exit, is a leak.
    for payload in PAYLOADS:
        if payload in everything:
            at = everything.find(payload)
            problems.append(
                f"payload {payload!r} reached the pty: {everything[max(0, at - 80) : at + 40]!r}"
            )
    # Never written by Textual, so never allowed at all: the one-byte C1 CSI (U+009B, in
    # UTF-8 C2 9B), a cursor position report request, a DCS introducer.
    for sequence in (b"\xc2\x9b", b"\x9b6n", b"\x1b[6n", b"\x1bP"):
        if sequence in everything:
            problems.append(f"{sequence!r} reached the pty")
    # Textual writes these around startup or exit only: never while showing output.
    for sequence in (b"\x1bc", b"\x1b]0;", b"\x1b]52", b"\x1b[?1049h", b"\x1b[?1049l"):
        if sequence in after:
            # A leak is redrawn with every later frame: name the first case it shows in.
            culprit = next(
                (
                    f"{name} by {route}"
                    for route, name, first, last in cases
                    if sequence in everything[first:last]
                ),
                "no case",
            )
            problems.append(
                f"{sequence!r} reached the pty while output was shown, first in the case {culprit}"
            )
    # The alternate screen is entered once (Textual's own, at start).
    if count(everything, b"\x1b[?1049h") != 1:
        problems.append(f"ESC[?1049h sent {count(everything, b'[?1049h')} times, not once")
    # Nothing but the expected terminal-control vocabulary while output was shown: every
    # escape after attaching is a CSI (cursor moves, SGR, modes) and no OSC, DCS, APC...
    strange = sorted({match.group() for match in re.finditer(rb"\x1b[^\[]", after)})
    if strange:
        problems.append(f"non-CSI escapes while output was shown: {strange!r}")
    assert not problems, "\n".join(problems)


def run_until_shown(
    nbtui: Pty, peer: BlockingKernelClient, kernel: KernelManager, code: str, shown: bytes
) -> bytes:
    """Run `code` as the peer once nbtui is attached, wait until `shown` is drawn, quit;
    return every byte the pty received."""
    nbtui.read_until(b"idle")
    before = len(nbtui.received)
    run(peer, code)
    nbtui.read_until(shown, before)
    quit_nbtui(nbtui)
    assert kernel.is_alive()
    return bytes(nbtui.received)


@pytest.mark.timeout(120)
def test_text_after_a_bel_terminated_osc_is_shown(
    nbtui: Pty, peer: BlockingKernelClient, kernel: KernelManager
) -> None:
    # Text.from_ansi swallows the text between a BEL-ended OSC and a later ST: nbtui must
    # show it (the sanitizer ends the OSC at the BEL).
    code = "print('SHOWN-' + '\\x1b]0;x\\x07' + 'MIDDLE' + '\\x1b\\\\' + '-TAIL')"
    run_until_shown(nbtui, peer, kernel, code, b"SHOWN-MIDDLE-TAIL")


INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
)
"""Bidi controls and zero-width characters: they reorder or hide text (Trojan Source)."""


@pytest.mark.timeout(120)
def test_invisible_characters_never_reach_the_terminal(
    nbtui: Pty, peer: BlockingKernelClient, kernel: KernelManager
) -> None:
    # A bidi-aware terminal would show the comment where the string's end is: the reader
    # would think the check compares with "user". Its output carries every one too.
    hidden = "".join(f"\\u{ord(char):04x}" for char in INVISIBLE)
    code = (
        'level = "user"\n'
        'if level != "user\u202e \u2066# admin\u2069 \u2066": pass\n'
        f'print("TROJAN-" + "{hidden}" + "OUTPUT-END")'
    )
    everything = run_until_shown(nbtui, peer, kernel, code, b"TROJAN-OUTPUT-END")
    leaked = [f"U+{ord(char):04X}" for char in INVISIBLE if char.encode() in everything]
    assert not leaked, f"reached the pty: {leaked}"
    # The code shows where each one was instead.
    assert b"<U+202E>" in everything and b"<U+2069>" in everything
