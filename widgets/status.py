"""The status line: which kernel, and at a glance whether it is idle, busy or gone."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

__all__ = ["KernelState", "StatusBar"]

KernelState = str
"""One of: starting, idle, busy, unresponsive, stopped, lost, dead, restarting,
restarted, reconnecting (the link, not the kernel)."""

_WORDS = {
    "starting": "starting",
    "idle": "idle",
    "busy": "busy",
    "unresponsive": "unresponsive",
    "stopped": "stopped",
    "lost": "lost",
    "dead": "dead",
    "restarting": "restarting",
    "restarted": "restarted",
    "reconnecting": "reconnecting",
}


class StatusBar(Widget):
    """One line: `nbtui · python 3.11 (ipykernel 7.4) · kernel-1234.json    ● busy 4.2 s`.

    State is a word and a colour, never colour alone.
    """

    COMPONENT_CLASSES = {
        "status--title",
        "status--kernel",
        "status--idle",
        "status--busy",
        "status--starting",
        "status--unresponsive",
        "status--stopped",
        "status--lost",
        "status--dead",
        "status--restarting",
        "status--restarted",
        "status--reconnecting",
        "status--detail",
        "status--mode",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
    }
    """

    kernel: reactive[str] = reactive("")
    """The kernelspec, language and implementation, e.g. `python3 · python 3.12 (ipython 9.0)`."""
    source: reactive[str] = reactive("")
    """Where the kernel was found: the connection file's name, "stdin", or a server and
    kernel id."""
    state: reactive[str] = reactive("starting")
    """The kernel's state (idle, busy, starting, unresponsive, lost, dead, ...); picks the dot's
    colour."""
    detail: reactive[str] = reactive("")
    """After the state: what runs and for how long, or why the kernel is not answering."""
    summary: reactive[str] = reactive("")
    """Pane facts for narrow terminals: heartbeat round trip, kernel memory."""
    mode: reactive[str] = reactive("")
    """A standing marker before the state, such as `observing · read-only`."""

    def render(self) -> Text:
        """nbtui, the kernel and its source on the left (truncated first), the mode, state
        and detail on the right."""
        left = Text.assemble(
            (" nbtui", self.get_component_rich_style("status--title")),
            " · ",
            (self.kernel, self.get_component_rich_style("status--kernel")),
            " · " if self.source else "",
            self.source,
        )
        right = Text.assemble(
            (f"{self.mode} · " if self.mode else "", self.get_component_rich_style("status--mode")),
            (
                "● " + _WORDS.get(self.state, self.state),
                self.get_component_rich_style(f"status--{self.state}", partial=True),
            ),
            (
                f" {self.detail}" if self.detail else "",
                self.get_component_rich_style("status--detail"),
            ),
            (
                f" · {self.summary}" if self.summary else "",
                self.get_component_rich_style("status--detail"),
            ),
            " ",
        )
        width = self.size.width
        room = width - right.cell_len
        if left.cell_len > room - 1:
            left.truncate(max(0, room - 1), overflow="ellipsis")
        gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
