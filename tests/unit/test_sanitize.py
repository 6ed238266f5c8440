"""Untrusted kernel output must reach the terminal with no escape but SGR.

The inputs are the raw characters a terminal would receive (PROTOCOL.md, "Kernel output
is untrusted"): each of these was seen doing harm on a real pty when passed through.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from nbtui.app.kernel.sanitize import apply_line_edits, sanitize, sanitize_code, sanitize_stream

ESC = "\x1b"
SGR = re.compile(r"\x1b\[[0-9;:]*m")
# Every control character a terminal acts on, except newline and tab.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
# What `sanitize_stream` may still hold: it keeps \r and \b for `apply_line_edits`.
STREAM_CONTROLS = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def assert_inert(text: str) -> None:
    """Only SGR sequences carry ESC, and no control but newline and tab is left."""
    without_sgr = SGR.sub("", text)
    assert ESC not in without_sgr, repr(text)
    assert CONTROLS.search(without_sgr) is None, repr(text)


# -- the dangerous sequences, one by one ---------------------------------------------------

DANGEROUS = {
    "osc52 clipboard": "\x1b]52;c;aGVsbG8=\x07",
    "osc0 title bel": "\x1b]0;pwned title\x07",
    "osc0 title st": "\x1b]0;pwned title\x1b\\",
    "osc8 hyperlink": "\x1b]8;;http://evil.example/\x1b\\",
    "dsr": "\x1b[6n",
    "ris": "\x1bc",
    "c1 csi dsr": "\x9b6n",
    "dcs": "\x1bP1$qm\x1b\\",
    "sos": "\x1bXsecret\x1b\\",
    "apc": "\x1b_payload\x1b\\",
    "alternate screen": "\x1b[?1049h",
    "clear and home": "\x1b[2J\x1b[H",
    "cursor up": "\x1b[5A",
    "scroll region": "\x1b[1;5r",
    "keypad mode": "\x1b=",
    "charset": "\x1b(0",
}


@pytest.mark.parametrize("sequence", list(DANGEROUS.values()), ids=list(DANGEROUS))
@pytest.mark.parametrize("function", [sanitize, sanitize_stream])
def test_dangerous_sequence_is_removed(function: object, sequence: str) -> None:
    assert callable(function)
    out = function(f"before{sequence}after")
    assert_inert(out)
    assert out.startswith("before")
    assert out.endswith("after")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b]52;c;aGVsbG8=\x07", ""),
        ("a\x1b]0;title\x07b", "ab"),
        ("a\x1b]0;title\x1b\\b", "ab"),
        ("a\x1b[6nb", "ab"),
        ("a\x1bcb", "ab"),
        ("a\x1bP+q544e\x1b\\b", "ab"),
        ("a\x1b[?1049hb\x1b[?1049l", "ab"),
        ("\x1b[2J\x1b[Hx", "x"),
    ],
)
def test_exact_results(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_escape_at_end_of_chunk_is_removed() -> None:
    assert sanitize("text\x1b") == "text"
    assert sanitize("text\x1b[") == "text"
    assert sanitize("text\x1b]0;unfinished") == "text"


def test_osc52_payload_never_survives() -> None:
    out = sanitize("\x1b]52;c;aGVsbG8=\x07")
    assert "aGVsbG8" not in out
    assert "52;" not in out


def test_title_text_is_not_shown() -> None:
    assert "pwned" not in sanitize("x\x1b]0;pwned\x07y")
    assert "pwned" not in sanitize("x\x1b]0;pwned\x1b\\y")


def test_c1_csi_is_removed() -> None:
    # U+009B is a one-character CSI to terminals that honour C1 controls.
    out = sanitize("a\x9b6nb")
    assert "\x9b" not in out
    assert_inert(out)
    assert out.startswith("a")
    assert out.endswith("b")


def test_other_c1_controls_are_removed() -> None:
    out = sanitize("a\x9d0;t\x9cb\x90q\x9c\x85c")
    assert_inert(out)
    for char in "\x9d\x9c\x90\x85":
        assert char not in out


def test_bel_terminated_osc_then_st_keeps_text_between() -> None:
    # Text.from_ansi swallows "visible" here: the OSC ends at BEL, not at the later ST.
    out = sanitize("\x1b]0;t\x07visible\x1b\\after")
    assert "visible" in out
    assert "after" in out
    assert ESC not in out
    assert out == "visibleafter"


def test_unterminated_osc_stops_at_newline() -> None:
    out = sanitize("a\x1b]0;never ends\nnext line")
    assert out.endswith("\nnext line")
    assert_inert(out)


def test_sgr_colours_are_kept_unchanged() -> None:
    for text in (
        "\x1b[31mred\x1b[0m",
        "\x1b[1;32mbold green\x1b[m",
        "\x1b[38;5;208morange\x1b[39m",
        "\x1b[38;2;10;20;30mtruecolour\x1b[0m",
        "\x1b[38:5:1mcolon form\x1b[0m",
    ):
        assert sanitize(text) == text
        assert sanitize_stream(text) == text


def test_sgr_kept_among_dangerous_sequences() -> None:
    out = sanitize("\x1b]0;t\x07\x1b[31mred\x1b[6n\x1b[0m")
    assert out == "\x1b[31mred\x1b[0m"


def test_c0_controls_removed_but_newline_and_tab_kept() -> None:
    controls = "".join(chr(code) for code in range(0x20) if chr(code) not in "\n\t\r\x08\x1b")
    out = sanitize(f"a{controls}\x7fb\tc\nd")
    assert out == "ab\tc\nd"


def test_plain_text_is_returned_as_is() -> None:
    text = "plain text, unicode ✓ ünïcödé 漢字\n\tindented"
    assert sanitize(text) == text
    assert sanitize_stream(text) == text


# -- carriage return and backspace --------------------------------------------------------


def test_progress_bar_ends_as_final_state() -> None:
    assert sanitize("\r 10%\r 20%\r100%") == "100%"
    assert apply_line_edits("\r 10%\r 20%\r100%") == "100%"


def test_sanitize_stream_keeps_cr_and_backspace_for_line_edits() -> None:
    assert sanitize_stream("\r 10%\r100%") == "\r 10%\r100%"
    assert sanitize_stream("abc\b\bX") == "abc\b\bX"


def test_backspace() -> None:
    assert sanitize("abc\b\bX") == "aX"
    assert apply_line_edits("abc\b\bX") == "aX"
    assert apply_line_edits("\b\bX") == "X"


def test_carriage_return_per_line() -> None:
    assert apply_line_edits("a\rb\nc\rd") == "b\nd"


def test_crlf_keeps_the_line() -> None:
    assert apply_line_edits("line one\r\nline two\r\n") == "line one\nline two\n"


def test_trailing_carriage_return_keeps_the_line() -> None:
    assert apply_line_edits("abc\r") == "abc"


def test_no_cr_or_backspace_left_after_sanitize() -> None:
    out = sanitize("a\rb\b\rc\n\r\rd\b")
    assert "\r" not in out
    assert "\b" not in out


def test_backspace_cannot_turn_sgr_into_another_sequence() -> None:
    # "\x1b[2;5m" + BS + "H" became "\x1b[2;5H": the cursor jumps to row 2, column 5.
    assert_inert(sanitize("\x1b[2;5m\bHello"))
    assert_inert(sanitize("\x1b[31mab\b\b\b\b\b\b\bH"))


# -- invisible characters (Trojan Source) -------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
EMOJI_JOINER = re.compile("(?<=👩)\u200d(?=👩)")
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@pytest.mark.parametrize("char", list(BIDI + ZERO_WIDTH), ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("function", [sanitize, sanitize_stream])
def test_invisible_character_is_removed_from_output(function: object, char: str) -> None:
    assert callable(function)
    assert function(f"before{char}after") == "beforeafter"


def test_trojan_source_output_reads_in_logical_order() -> None:
    # Shown by a bidi-aware terminal as `access_level != "user" # Check if admin`.
    raw = 'access_level != "user\u202e \u2066# Check if admin\u2069 \u2066"'
    assert sanitize(raw) == 'access_level != "user # Check if admin "'


def test_emoji_keep_their_joiners() -> None:
    for emoji in (
        "👩\u200d💻",
        "🏳️\u200d🌈",
        "👩🏽\u200d🔬",
        "👨\u200d👩\u200d👧",
        "❤️\u200d🔥",
        "🐻\u200d❄️",
    ):
        assert sanitize(f"a {emoji} b") == f"a {emoji} b"
        assert sanitize_code(f"a {emoji} b") == f"a {emoji} b"


def test_a_joiner_outside_an_emoji_is_removed() -> None:
    assert sanitize("ad\u200dmin") == "admin"
    assert sanitize("👩\u200d") == "👩"
    assert sanitize("\u200d💻") == "💻"
    assert sanitize("👩\u200d\u200b💻") == "👩💻"


def test_tags_hide_text_except_in_a_flag() -> None:
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert sanitize(f"flag {scotland}") == f"flag {scotland}"
    smuggled = "".join(chr(0xE0000 + ord(char)) for char in "rm -rf")
    assert sanitize(f"ok{smuggled}") == "ok"


def test_visible_unicode_is_untouched() -> None:
    text = "שלום עולם مرحبا 漢字 ünïcödé ✓ 👍🏽 e\u0301"
    assert sanitize(text) == text
    assert sanitize_code(text) == text


def test_code_shows_each_invisible_character_as_a_mark() -> None:
    raw = 'if level != "user\u202e \u2066# admin\u2069 \u2066":\n    is\u200badmin = 1'
    assert sanitize_code(raw) == (
        'if level != "user<U+202E> <U+2066># admin<U+2069> <U+2066>":\n    is<U+200B>admin = 1'
    )
    for char in BIDI + ZERO_WIDTH:
        assert INVISIBLE.search(sanitize_code(f"x{char}y")) is None


def test_code_keeps_a_carriage_return_as_a_line_break() -> None:
    # Python runs both lines; overwriting the first, as output would, hides it.
    assert sanitize_code("import os; os.remove(p)\rprint('hi')") == (
        "import os; os.remove(p)\nprint('hi')"
    )
    assert sanitize_code("a = 1\r\nb = 2\r\n") == "a = 1\nb = 2\n"


def test_code_shows_backspace_and_escape_instead_of_acting_on_them() -> None:
    assert sanitize_code("s = 'safe\x08\x08\x08\x08evil'") == (
        "s = 'safe<U+0008><U+0008><U+0008><U+0008>evil'"
    )
    assert sanitize_code("s = '\x1b[31mred'") == "s = '<U+001B>[31mred'"
    assert sanitize_code("# \x1b]52;c;aGVsbG8=\x07\npass") == "# \npass"


def _assembled(seed: int, tokens: list[str]) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(2000):
        yield "".join(rng.choice(tokens) for _ in range(rng.randint(0, 24)))


def test_code_is_inert() -> None:
    for text in _assembled(202, [*_TOKENS, *BIDI, *ZERO_WIDTH, "\x08", "👩"]):
        out = sanitize_code(text)
        assert ESC not in out and CONTROLS.search(out) is None, repr(text)
        assert INVISIBLE.search(EMOJI_JOINER.sub("", out)) is None, repr(text)


def test_fuzz_output_has_no_invisible_character_but_emoji_joiners() -> None:
    for text in _assembled(2066, [*_TOKENS, *BIDI, *ZERO_WIDTH, "👩", "x"]):
        out = sanitize(text)
        assert_inert(out)
        assert INVISIBLE.search(EMOJI_JOINER.sub("", out)) is None, repr(text)
        assert sanitize(out) == out, repr(text)


# -- property: only SGR survives -----------------------------------------------------------

_INTERESTING = b"\x1b[]\x07\\\x9b\x9c\x9d\x90\x98\x9e\x9f\x08\r\n\t\x7f0123456789;:?mHJnPXc_^"


def _random_text(rng: random.Random) -> str:
    size = rng.randint(0, 64)
    data = bytearray()
    for _ in range(size):
        if rng.random() < 0.6:
            data.append(rng.choice(_INTERESTING))
        else:
            data.append(rng.randrange(256))
    # latin-1 maps each byte to the code point of the same value, so C1 stays C1.
    text = data.decode("latin-1")
    if rng.random() < 0.2:
        text += rng.choice(["✓", "漢字", "\u2028", "\ufeff"])
    return text


_TOKENS = [
    "\x1b",
    "[",
    "]",
    "P",
    "\\",
    "\x07",
    "\x9b",
    "\x9c",
    "\x9d",
    ";",
    "0",
    "1",
    "52",
    "6n",
    "m",
    "H",
    "?1049h",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b]0;",
    "\x1b]52;c;",
    "\x1bP",
    "\x1b\\",
    "\x1bc",
    "\r",
    "\n",
    "\t",
    "text",
    " ",
    "\x00",
    "\x7f",
]


def test_fuzz_random_bytes_leave_only_sgr() -> None:
    rng = random.Random(0x5EED)
    for _ in range(2000):
        text = _random_text(rng)
        out = sanitize(text)
        assert_inert(out)
        streamed = sanitize_stream(text)
        assert ESC not in SGR.sub("", streamed), repr(text)
        assert STREAM_CONTROLS.search(SGR.sub("", streamed)) is None, repr(text)


def test_fuzz_assembled_sequences_leave_only_sgr() -> None:
    # Backspace is left out: see test_backspace_cannot_turn_sgr_into_another_sequence.
    rng = random.Random(1049)
    for _ in range(2000):
        text = "".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 24)))
        assert_inert(sanitize(text))


def test_fuzz_sanitize_is_idempotent() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(_TOKENS) for _ in range(rng.randint(0, 24)))
        once = sanitize(text)
        assert sanitize(once) == once, repr(text)


# -- C1 string commands (issue 13, item 26d) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("a\x9d0;PWN\x07b", "ab", id="c1-osc-bel"),
        pytest.param("a\x9d0;PWN\x9cb", "ab", id="c1-osc-c1-st"),
        pytest.param("a\x9d0;PWN\x1b\\b", "ab", id="c1-osc-esc-st"),
        pytest.param("a\x9d52;c;cHduZWQ=\x07b", "ab", id="c1-osc52"),
        pytest.param("a\x1b]0;PWN\x9cb", "ab", id="osc-c1-st"),
        pytest.param("a\x90q#0;2;0;0;0\x9cb", "ab", id="c1-dcs"),
        pytest.param("a\x98hidden\x9cb", "ab", id="c1-sos"),
        pytest.param("a\x9ehidden\x9cb", "ab", id="c1-pm"),
        pytest.param("a\x9fhidden\x1b\\b", "ab", id="c1-apc"),
        pytest.param("a\x9b2Jb", "ab", id="c1-csi-ed"),
        pytest.param("a\x9b6nb", "ab", id="c1-csi-dsr"),
        pytest.param("a\x9d0;never ends\nnext", "a\nnext", id="c1-osc-unterminated"),
    ],
)
def test_c1_sequences_go_whole(raw: str, expected: str) -> None:
    """A bare C1 introducer starts the same sequence as its ESC form: removing only the
    introducer left its body ("0;PWN") on screen."""
    assert sanitize(raw) == expected
    assert sanitize_stream(raw) == expected
