"""Terminal notifications: which sequence for which terminal, the tmux wrap, clean text,
and the policy that decides what is worth a notification."""

from __future__ import annotations

import pytest

from nbtui.app.notify import (
    Notifier,
    NotifyPolicy,
    app_writer,
    clean_text,
    detect_protocol,
    encode,
    in_tmux,
    notification_sequence,
    tmux_wrap,
)


@pytest.mark.parametrize(
    ("env", "protocol"),
    [
        ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, "osc9"),
        ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
        ({"WT_SESSION": "5e0c1c0a-0000", "TERM": "xterm-256color"}, "osc9"),
        ({"TERM_PROGRAM": "ghostty", "TERM": "xterm-ghostty"}, "osc9"),
        ({"TERM": "xterm-ghostty"}, "osc9"),
        ({"TERM": "foot"}, "osc777"),
        ({"TERM": "foot-extra"}, "osc777"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "osc777"),
        ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, "osc99"),
        ({"TERM": "xterm-256color"}, "bel"),
        ({}, "bel"),
        # Inside tmux TERM and TERM_PROGRAM name tmux: the outer terminal's own hints count.
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "tmux", "KITTY_WINDOW_ID": "3"}, "osc99"),
        ({"TERM": "screen", "TERM_PROGRAM": "tmux", "LC_TERMINAL": "iTerm2"}, "osc9"),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "tmux", "WEZTERM_PANE": "0"}, "osc9"),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "tmux"}, "bel"),
    ],
)
def test_detect_protocol(env: dict[str, str], protocol: str) -> None:
    assert detect_protocol(env) == protocol


def test_in_tmux() -> None:
    assert in_tmux({"TMUX": "/tmp/tmux-0/default,123,0"})
    assert in_tmux({"TERM_PROGRAM": "tmux"})
    assert not in_tmux({"TERM": "xterm-256color"})


def test_encodings() -> None:
    assert encode("osc9", "nbtui", "cell done") == "\x1b]9;nbtui: cell done\x07"
    assert encode("osc777", "nb;tui", "a;b") == "\x1b]777;notify;nb,tui;a;b\x07"
    assert encode("osc99", "nbtui", "done", "n1") == (
        "\x1b]99;i=n1:d=0:p=title;nbtui\x1b\\\x1b]99;i=n1:d=1:p=body;done\x1b\\"
    )
    assert encode("bel", "nbtui", "done") == "\x07"
    # Windows Terminal reads "9;4;..." as a progress bar.
    assert encode("osc9", "4;3", "") == "\x1b]9;· 4;3\x07"


def test_tmux_wrap_doubles_every_escape() -> None:
    inner = "\x1b]9;hi\x07"
    assert tmux_wrap(inner) == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    kitty = encode("osc99", "t", "b", "i")
    wrapped = tmux_wrap(kitty)
    assert wrapped.startswith("\x1bPtmux;") and wrapped.endswith("\x1b\\")
    assert wrapped[len("\x1bPtmux;") : -2] == kitty.replace("\x1b", "\x1b\x1b")


def test_sequence_in_tmux_is_wrapped_but_a_bell_is_not() -> None:
    tmux = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "tmux", "LC_TERMINAL": "iTerm2"}
    assert notification_sequence("nbtui", "x", tmux) == "\x1bPtmux;\x1b\x1b]9;nbtui: x\x07\x1b\\"
    assert notification_sequence("nbtui", "x", {"TMUX": "t"}) == "\x07"


@pytest.mark.parametrize(
    "hostile",
    [
        "eve\x1b]9;pwned\x07",
        "eve\x1b[31mred\x1b[0m",
        "eve\x1b\\",
        "eve\x9d9;c1 osc\x9c",
        "eve\nsecond line\rthird",
        "eve\x1bPtmux;\x1b\x1b]9;x\x07\x1b\\",
    ],
)
def test_no_escape_from_text_gets_in(hostile: str) -> None:
    cleaned = clean_text(hostile)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in cleaned)
    for protocol in ("osc9", "osc777", "osc99"):
        sequence = encode(protocol, hostile, hostile)  # type: ignore[arg-type]
        # Only the sequence's own framing has ESC/BEL: one start, one end per part.
        parts = 2 if protocol == "osc99" else 1
        assert sequence.count("\x1b]") == parts
        assert sequence.count("\x1b") == parts * (2 if protocol == "osc99" else 1)


def test_clean_text_is_short() -> None:
    assert len(clean_text("x" * 1000)) == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_policy_cells_over_the_threshold_once_each() -> None:
    clock = Clock()
    policy = NotifyPolicy(10.0, clock=clock)
    assert policy.cell_ended("a", 9.9) is None
    notice = policy.cell_ended("b", 12.0, who="alice", label="In [3]")
    assert notice is not None and notice.body == "In [3] (alice) finished in 12 s"
    assert policy.cell_ended("b", 12.0) is None  # at most one per event
    failed = policy.cell_ended("c", 125.0, failed=True)
    assert failed is not None and failed.body == "cell failed after 2 min 5 s"


def test_policy_zero_is_off() -> None:
    policy = NotifyPolicy(0)
    assert not policy.enabled
    assert policy.cell_ended("a", 100.0) is None
    assert policy.kernel_event("dead") is None
    assert policy.memory(True, 0.9) is None


def test_policy_quiet_while_typing() -> None:
    clock = Clock()
    policy = NotifyPolicy(1.0, clock=clock)
    policy.typed()
    clock.now += 0.5
    assert policy.cell_ended("a", 5.0) is None
    assert policy.kernel_event("dead") is None
    clock.now += 0.6
    assert policy.cell_ended("b", 5.0) is not None


def test_policy_kernel_events_once_per_key() -> None:
    policy = NotifyPolicy()
    dead = policy.kernel_event("dead", "s1")
    assert dead is not None and dead.body == "the kernel died"
    assert policy.kernel_event("dead", "s1") is None
    restarted = policy.kernel_event("restarting", "s1")
    assert restarted is not None and restarted.body == "the kernel restarted"
    assert policy.kernel_event("dead", "s2") is not None


def test_policy_memory_on_crossing_only() -> None:
    policy = NotifyPolicy()
    assert policy.memory(False, 0.5) is None
    crossed = policy.memory(True, 0.85)
    assert crossed is not None and "85%" in crossed.body
    assert policy.memory(True, 0.9) is None  # still over: no repeat
    assert policy.memory(False, 0.5) is None
    assert policy.memory(True, 0.82) is not None  # crossed again


def test_notifier_writes_the_sequence() -> None:
    written: list[str] = []
    notifier = Notifier(written.append, {"TERM": "foot"}, NotifyPolicy(clock=Clock()))
    assert not notifier.emit(None)
    assert notifier.emit(notifier.policy.cell_ended("x", 30.0, who="bob\x1b[2J"))
    assert written == ["\x1b]777;notify;nbtui;cell (bob) finished in 30 s\x07"]
    assert notifier.protocol == "osc777"


class FakeDriver:
    def __init__(self) -> None:
        self.out: list[str] = []

    def write(self, data: str) -> None:
        self.out.append(data)


class FakeApp:
    def __init__(self, headless: bool) -> None:
        self.is_headless = headless
        self._driver: FakeDriver | None = FakeDriver()


def test_app_writer_uses_the_driver_unless_headless() -> None:
    shown, headless = FakeApp(False), FakeApp(True)
    app_writer(shown)("\x07")
    app_writer(headless)("\x07")
    assert shown._driver is not None and shown._driver.out == ["\x07"]
    assert headless._driver is not None and headless._driver.out == []
    shown._driver = None
    app_writer(shown)("\x07")  # the app is gone: nothing, no error
