"""Choosing a kernel on a Jupyter Server: its kernels, live, Enter to attach, n for new.

The list comes from the server's REST API (`GET /api/kernels`), which the server answers
from its own records: refreshing it never sends the kernels anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.server import JupyterServer, ServerKernelModel
from nbtui.app.present import format_timestamp_ago

__all__ = ["AttachTo", "ServerChoice", "ServerPickerApp", "StartNew"]


@dataclass(frozen=True)
class AttachTo:
    """Attach to this kernel on the server."""

    kernel: ServerKernelModel


@dataclass(frozen=True)
class StartNew:
    """Have the server start a new kernel of this kernelspec."""

    kernel_name: str


ServerChoice = AttachTo | StartNew
"""What the server picker was asked to do."""


class ServerPickerApp(App[ServerChoice | None]):
    """Exits with the user's choice, or None when closed without one."""

    CSS = """
    #picker-title { height: 1; padding: 0 1; text-style: bold; }
    DataTable { height: 1fr; }
    #picker-status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "choose", "Attach", priority=True),
        Binding("n", "new", "New python3 kernel"),
        Binding("escape,q", "quit_picker", "Cancel"),
    ]
    INTERVAL = 2.0

    def __init__(self, server: JupyterServer) -> None:
        super().__init__()
        self.server = server
        self.kernels: list[ServerKernelModel] = []

    def compose(self) -> ComposeResult:
        """The title, the kernels' table, a status line and the footer."""
        yield Static(f"kernels on {self.server.base_url}", id="picker-title")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("", id="picker-status")
        yield Footer()

    def on_mount(self) -> None:
        """Set the table's columns and list the kernels."""
        table = self.query_one(DataTable)
        table.add_columns("id", "name", "state", "connections", "last activity")
        self.refresh_list()

    @work(exclusive=True, group="list")
    async def refresh_list(self) -> None:
        """List the server's kernels again, then again after INTERVAL."""
        status = self.query_one("#picker-status", Static)
        try:
            kernels = await self.server.kernels()
        except NbtuiError as error:
            status.update(str(error))
        else:
            self._show(kernels)
            status.update(f"{len(kernels)} kernel(s) · Enter attaches · n starts a new one")
        self.set_timer(self.INTERVAL, self.refresh_list)

    def _show(self, kernels: list[ServerKernelModel]) -> None:
        table = self.query_one(DataTable)
        chosen = self.kernels[table.cursor_row].id if self.kernels and table.row_count else ""
        self.kernels = kernels
        table.clear()
        for kernel in kernels:
            table.add_row(
                kernel.id,
                kernel.name,
                kernel.execution_state,
                str(kernel.connections),
                format_timestamp_ago(kernel.last_activity),
                key=kernel.id,
            )
        ids = [kernel.id for kernel in kernels]
        if chosen in ids:
            table.move_cursor(row=ids.index(chosen))

    def action_choose(self) -> None:
        """Attach to the kernel under the cursor (Enter)."""
        table = self.query_one(DataTable)
        if self.kernels and 0 <= table.cursor_row < len(self.kernels):
            self.exit(AttachTo(self.kernels[table.cursor_row]))

    def action_new(self) -> None:
        """Have the server start a new python3 kernel (n)."""
        self.exit(StartNew("python3"))

    def action_quit_picker(self) -> None:
        """Leave without a choice (Escape, q)."""
        self.exit(None)
