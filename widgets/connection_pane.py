"""The connection pane: how to reach this kernel, and how another person joins it.

The HMAC key is shown masked, never in full: whoever has it can run code as the
kernel's user. This widget never sees a key or a token: it draws the rows its
`KernelTarget` gives, which show them masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from nbtui.app.kernel.sanitize import sanitize_line

if TYPE_CHECKING:
    from nbtui.app.kernel.target import KernelTarget

__all__ = ["ConnectionPane"]


def kernel_summary(kernel_info: Mapping[str, Any]) -> str:
    """`ipython 9.1.0 · python 3.11.7 · protocol 5.3` from a kernel_info_reply."""
    parts: list[str] = []
    implementation = kernel_info.get("implementation")
    if isinstance(implementation, str) and implementation:
        version = kernel_info.get("implementation_version")
        parts.append(f"{implementation} {version}" if isinstance(version, str) else implementation)
    language = kernel_info.get("language_info")
    if isinstance(language, Mapping):
        name = language.get("name")
        version = language.get("version")
        if isinstance(name, str) and name:
            parts.append(f"{name} {version}" if isinstance(version, str) else name)
    protocol = kernel_info.get("protocol_version")
    if isinstance(protocol, str) and protocol:
        parts.append(f"protocol {protocol}")
    # Code in the kernel can rewrite its own kernel_info: it is untrusted like any output.
    return sanitize_line(" · ".join(parts))


class ConnectionPane(Widget, can_focus=True):
    """Connection file, transport, ports, masked key, Curve, kernel_info, join command.

    Press `c` while it has focus to copy the join command (OSC 52, so it works over
    SSH); the pane then posts `ConnectionPane.JoinCopied`.
    """

    BINDINGS = [Binding("c", "copy_join", "Copy join command")]

    COMPONENT_CLASSES = {
        "pane--label",
        "pane--value",
        "pane--muted",
        "pane--warning",
    }

    DEFAULT_CSS = """
    ConnectionPane {
        height: auto;
        width: 1fr;
    }
    """

    class JoinCopied(Message):
        """The join command went to the clipboard."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._info: KernelTarget | None = None
        self._transport = ""
        self._kernel_info: dict[str, Any] = {}
        self._session_id = ""
        self._record_path = ""

    @property
    def join_command(self) -> str:
        """The command another user runs to attach to this kernel ("" before `update`)."""
        return self._info.join_command() if self._info is not None else ""

    def update(
        self,
        info: KernelTarget,
        kernel_info: Mapping[str, Any] | None = None,
        session_id: str = "",
        transport: str = "",
    ) -> None:
        """Show a connection.

        Args:
            info: Where the kernel is: a connection file (its key is shown masked), a
                kernel on a Jupyter Server (its token is never shown), any `KernelTarget`.
            kernel_info: The latest kernel_info_reply content, if any.
            session_id: This client's session id.
            transport: How messages travel ("websocket v1", ...), when it matters.
        """
        kernel = dict(kernel_info or {})
        if (
            info is self._info
            and kernel == self._kernel_info
            and session_id == self._session_id
            and transport == self._transport
        ):
            return
        self._info = info
        self._transport = transport
        self._kernel_info = kernel
        self._session_id = session_id
        self.set_class(bool(info.pane_warning), "-group-readable")
        self.refresh(layout=True)

    @property
    def record_path(self) -> str:
        """The notebook `--record` keeps up to date ("" when not recording)."""
        return self._record_path

    @record_path.setter
    def record_path(self, path: str) -> None:
        self._record_path = path
        self.refresh(layout=True)

    def action_copy_join(self) -> None:
        """Copy the join command to the clipboard (OSC 52) and post `JoinCopied`; no-op when
        not connected."""
        command = self.join_command
        if command:
            self.app.copy_to_clipboard(command)
            self.post_message(self.JoinCopied(command))

    def render(self) -> RenderableType:
        """The connection as label/value rows, with a warning under them when the
        connection file is readable by other users."""
        info = self._info
        muted = self.get_component_rich_style("pane--muted", partial=True)
        if info is None:
            return Text("not connected", style=muted)
        value = self.get_component_rich_style("pane--value", partial=True)
        styles = {"value": value, "muted": muted}
        # A grid keeps wrapped values under their column instead of under the labels.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(
            style=self.get_component_rich_style("pane--label", partial=True), no_wrap=True
        )
        grid.add_column(overflow="fold")
        for row in info.pane_rows(self._transport):
            if row.whole:
                text, style = row.parts[0]
                grid.add_row(row.label, Text(text, style=styles.get(style, "")))
            else:
                grid.add_row(
                    row.label,
                    Text.assemble(
                        *((text, styles[style]) if style else text for text, style in row.parts)
                    ),
                )
        self._common_rows(grid, value, muted, info.join_command())
        if not info.pane_warning:
            return grid
        warning = Text(
            f"⚠ {info.pane_warning}",
            style=self.get_component_rich_style("pane--warning", partial=True),
        )
        return Group(grid, warning)

    def _common_rows(self, grid: Table, value: Style, muted: Style, command: str) -> None:
        summary = kernel_summary(self._kernel_info)
        grid.add_row(
            "kernel",
            Text(summary, style=value) if summary else Text("no kernel_info yet", style=muted),
        )
        if self._session_id:
            grid.add_row("session", Text(self._session_id, style=value))
        join = Text(command, style=value)
        if self.has_focus:
            join.append("  c copies", style=muted)
        grid.add_row("join", join)
        if self._record_path:
            grid.add_row("record", Text(self._record_path, style=value))

    def on_focus(self) -> None:
        """Re-render to show the "c copies" hint while focused."""
        self.refresh()

    def on_blur(self) -> None:
        """Re-render to drop the "c copies" hint."""
        self.refresh()
