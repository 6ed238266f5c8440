"""Desktop notifications through the terminal: a long cell ended, the kernel died.

The terminal turns an escape sequence into a notification; which one depends on the
terminal, told apart by what it sets in the environment:

- OSC 9 (`ESC ] 9 ; text BEL`): iTerm2, WezTerm, Windows Terminal, Ghostty.
- OSC 777 (`ESC ] 777 ; notify ; title ; body BEL`): foot, and VTE terminals built with
  Fedora's/Ubuntu's notification patch (GNOME Terminal, Tilix).
- OSC 99 (`ESC ] 99 ; metadata ; payload ESC \\`): kitty.
- BEL otherwise: the terminal's own bell (often an urgency hint on the window).

Inside tmux the sequence is wrapped in tmux's DCS passthrough (`ESC P tmux; ... ESC \\`,
every ESC inside doubled) so it reaches the outer terminal. tmux (3.3 and later) drops it
unless the user set `set -g allow-passthrough on`; a BEL is never wrapped, tmux forwards
it by its own `bell-action`.

Nothing here touches the terminal: `Notifier` hands the finished sequence to a writer the
app gives it (the driver's output), and `NotifyPolicy` decides what is worth saying.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from nbtui.app.kernel.sanitize import sanitize_line

__all__ = [
    "Notice",
    "Notifier",
    "NotifyPolicy",
    "TerminalProtocol",
    "app_writer",
    "clean_text",
    "detect_protocol",
    "encode",
    "in_tmux",
    "notification_sequence",
    "tmux_wrap",
]

TerminalProtocol = Literal["osc9", "osc777", "osc99", "bel"]

_ESC = "\x1b"
_BEL = "\x07"
_ST = "\x1b\\"
_MAX_TEXT = 200

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Every C0 and C1 control, ESC among them: sanitize_line keeps SGR, but any ESC inside
an OSC payload would end it and let the rest reach the terminal as its own sequence."""


def clean_text(text: str, limit: int = _MAX_TEXT) -> str:
    """`text` on one line with no escape sequence or control left, at most `limit`
    characters: usernames and code reach the notification."""
    line = _CONTROLS.sub("", sanitize_line(text)).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def in_tmux(env: Mapping[str, str]) -> bool:
    """Whether nbtui runs inside tmux (whose server sets TMUX for its panes)."""
    return bool(env.get("TMUX")) or env.get("TERM_PROGRAM") == "tmux"


def detect_protocol(env: Mapping[str, str]) -> TerminalProtocol:
    """The notification sequence the outer terminal understands, from its environment.

    Inside tmux TERM and TERM_PROGRAM name tmux, so the hints that survive it count:
    variables the terminal exports to its shell (KITTY_WINDOW_ID, WT_SESSION,
    WEZTERM_PANE, GHOSTTY_RESOURCES_DIR, VTE_VERSION) and LC_TERMINAL, which iTerm2 sets
    and ssh forwards.
    """
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return "osc99"
    if (
        program in ("iTerm.app", "WezTerm", "ghostty")
        or env.get("LC_TERMINAL") == "iTerm2"
        or env.get("WT_SESSION")
        or env.get("WEZTERM_PANE")
        or env.get("GHOSTTY_RESOURCES_DIR")
        or term == "xterm-ghostty"
    ):
        return "osc9"
    if term.startswith("foot") or env.get("VTE_VERSION"):
        return "osc777"
    return "bel"


def encode(protocol: TerminalProtocol, title: str, body: str, ident: str = "nbtui") -> str:
    """The sequence for one notification, its text cleaned (`clean_text`).

    Args:
        protocol: From `detect_protocol`.
        title: A short title (OSC 9 and BEL show it before the body, or not at all).
        body: The text.
        ident: kitty's notification id (letters, digits, `-_+.`): a new one per notice,
            since kitty replaces a shown notification that has the same id.
    """
    title, body = clean_text(title), clean_text(body)
    if protocol == "osc9":
        text = f"{title}: {body}" if body else title
        # "9;4;…" is Windows Terminal's and ConEmu's progress bar, not a notification.
        if text[:1].isdigit():
            text = f"· {text}"
        return f"{_ESC}]9;{text}{_BEL}"
    if protocol == "osc777":
        # ';' separates title from body: one in the title would move the split.
        return f"{_ESC}]777;notify;{title.replace(';', ',')};{body}{_BEL}"
    if protocol == "osc99":
        # d=0: more parts follow; the same id joins them into one notification.
        return (
            f"{_ESC}]99;i={ident}:d=0:p=title;{title}{_ST}"
            f"{_ESC}]99;i={ident}:d=1:p=body;{body}{_ST}"
        )
    return _BEL


def tmux_wrap(sequence: str) -> str:
    """`sequence` in tmux's DCS passthrough, each ESC doubled; needs tmux's
    `allow-passthrough on` (off by default since tmux 3.3)."""
    return f"{_ESC}Ptmux;{sequence.replace(_ESC, _ESC + _ESC)}{_ST}"


def notification_sequence(
    title: str, body: str, env: Mapping[str, str], ident: str = "nbtui"
) -> str:
    """What to write to the terminal for one notification in this environment."""
    protocol = detect_protocol(env)
    sequence = encode(protocol, title, body, ident)
    if protocol != "bel" and in_tmux(env):
        return tmux_wrap(sequence)
    return sequence


@dataclass(frozen=True)
class Notice:
    """One notification to show."""

    title: str
    body: str
    event: str
    """"cell", "kernel" or "memory"."""


class NotifyPolicy:
    """Decides which events are worth a notification.

    Args:
        threshold: Seconds a cell must have run to be announced; 0 turns every
            notification off (`--notify-after 0`).
        typing_quiet: No notification within this many seconds of a keystroke: whoever
            types is looking at the screen.
        clock: `time.monotonic` or a test's clock.
    """

    def __init__(
        self,
        threshold: float = 10.0,
        *,
        typing_quiet: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.typing_quiet = typing_quiet
        self.clock = clock
        self._typed_at: float | None = None
        self._seen: set[str] = set()
        self._memory_high = False

    @property
    def enabled(self) -> bool:
        """Whether any notification can be sent."""
        return self.threshold > 0

    def typed(self) -> None:
        """Record a keystroke (the app calls this on every key)."""
        self._typed_at = self.clock()

    def _quiet(self) -> bool:
        return not self.enabled or (
            self._typed_at is not None and self.clock() - self._typed_at < self.typing_quiet
        )

    def _once(self, key: str) -> bool:
        """True the first time `key` is seen: at most one notification per event."""
        if key in self._seen:
            return False
        self._seen.add(key)
        if len(self._seen) > 4096:
            self._seen.clear()  # keys are per cell; forgetting old ones costs nothing
            self._seen.add(key)
        return True

    def cell_ended(
        self,
        msg_id: str,
        duration: float,
        *,
        failed: bool = False,
        who: str = "",
        label: str = "cell",
    ) -> Notice | None:
        """A cell finished or failed, whoever ran it.

        Args:
            msg_id: The execute request's id: one notice per cell however often called.
            duration: Seconds it ran.
            failed: It ended in an error.
            who: The username that ran it, shown when given.
            label: How the cell is named, e.g. "In [12]".
        """
        if duration < self.threshold or self._quiet() or not self._once(f"cell:{msg_id}"):
            return None
        verb = "failed after" if failed else "finished in"
        by = f" ({who})" if who else ""
        return Notice("nbtui", f"{label}{by} {verb} {_duration(duration)}", "cell")

    def kernel_event(self, kind: Literal["dead", "restarting"], key: str = "") -> Notice | None:
        """The kernel died or restarted; `key` (e.g. the kernel's session id) keeps one
        notice per death or restart when several messages say so."""
        if self._quiet() or not self._once(f"kernel:{kind}:{key}"):
            return None
        text = "the kernel died" if kind == "dead" else "the kernel restarted"
        return Notice("nbtui", text, "kernel")

    def memory(self, warning: bool, share: float | None = None) -> Notice | None:
        """The usage poller's memory warning; a notice when it turns on (not while it
        stays on, and again only after it went off)."""
        crossed = warning and not self._memory_high
        self._memory_high = warning
        if not crossed or self._quiet():
            return None
        figure = f" ({share:.0%} of what it could hold)" if share is not None else ""
        return Notice("nbtui", f"kernel memory is near the host's limit{figure}", "memory")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class _Driver(Protocol):
    def write(self, data: str) -> None: ...


class _App(Protocol):
    @property
    def is_headless(self) -> bool: ...

    @property
    def _driver(self) -> _Driver | None: ...


def app_writer(app: _App) -> Callable[[str], None]:
    """A `Notifier` writer for a Textual app: the driver's `write`, as `App.bell` does,
    so the sequence goes out in order with the frames (never in the middle of one), and
    nothing is written by a headless app (tests)."""

    def write(sequence: str) -> None:
        driver = app._driver
        if driver is not None and not app.is_headless:
            driver.write(sequence)

    return write


class Notifier:
    """Writes a policy's notices to the terminal.

    Args:
        write: Writes raw text to the terminal (`app_writer(app)`).
        env: The environment to detect the terminal from (`os.environ`).
        policy: What to announce.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        env: Mapping[str, str],
        policy: NotifyPolicy | None = None,
    ) -> None:
        self.write = write
        self.env = dict(env)
        self.policy = policy or NotifyPolicy()
        self.protocol = detect_protocol(self.env)
        self.sent: deque[Notice] = deque(maxlen=100)
        """The latest notices written, oldest first (for tests and a log)."""

    def emit(self, notice: Notice | None) -> bool:
        """Write `notice` if there is one; returns whether something was written."""
        if notice is None:
            return False
        ident = f"nbtui-{len(self.sent)}-{int(time.time())}"
        self.write(notification_sequence(notice.title, notice.body, self.env, ident))
        self.sent.append(notice)
        return True
