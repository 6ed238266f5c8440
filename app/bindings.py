"""The app's key bindings, the actions they name that are the console screen's to do,
and every binding the config file's `[keys]` may rebind."""

from __future__ import annotations

from textual.binding import Binding, BindingType

__all__ = [
    "APP_BINDINGS",
    "CONSOLE_ACTIONS",
    "DEFAULT_THEME",
    "OBSERVER_BINDINGS",
    "keyed_bindings",
]

DEFAULT_THEME = "textual-dark"
"""The theme when the config file names none (Textual's own default)."""

# Global, as they always were (F2 works over the pager too): the console does the work.
APP_BINDINGS: list[BindingType] = [
    Binding("ctrl+q", "quit", "Quit", priority=True, id="quit", tooltip="Leave nbtui"),
    Binding(
        "ctrl+c",
        "interrupt",
        "Interrupt",
        priority=True,
        id="interrupt",
        tooltip="Interrupt the cell that runs",
    ),
    Binding(
        "pageup",
        "page_up",
        "Scroll",
        show=False,
        priority=True,
        id="page_up",
        tooltip="Scroll the transcript up a page",
    ),
    Binding(
        "pagedown",
        "page_down",
        "",
        show=False,
        priority=True,
        id="page_down",
        tooltip="Scroll the transcript down a page",
    ),
    # Not in the footer either (six keys at 80x24): the README and the palette have it.
    # A priority binding, run before the key reaches the focused widget: keys typed in the
    # same burst wait in the app's queue until the search bar has the focus, instead of
    # reaching the editor first. The action skips where the key is not the search's.
    Binding(
        "ctrl+f",
        "search",
        "Search",
        show=False,
        priority=True,
        id="search",
        tooltip="Find in the transcript (/ there too)",
    ),
    Binding(
        "f2", "toggle_panes", "Panes", tooltip="Show or hide the side panes", id="toggle_panes"
    ),
    Binding(
        "f3",
        "toggle_variables",
        "Variables",
        tooltip="The kernel's variables, live while a cell runs",
        id="toggle_variables",
    ),
    Binding(
        "f4",
        "cycle_others",
        "Others",
        tooltip="Show or hide other clients' work",
        id="cycle_others",
    ),
    Binding(
        "f5",
        "toggle_catchup",
        "Earlier",
        # Not in the footer since F3 came: the catch-up line itself says "F5 to show".
        show=False,
        tooltip="Show or hide the earlier inputs, run before you joined",
        id="toggle_catchup",
    ),
    # Not in the footer: at 80x24 it has room for six keys and the palette, no more.
    # Priority, as ctrl+f: `F6 k` in one burst moves to the transcript before `k` is read.
    Binding(
        "f6",
        "toggle_focus",
        "Focus",
        show=False,
        priority=True,
        tooltip="Move between editor and transcript",
        id="toggle_focus",
    ),
    Binding(
        "f7",
        "toggle_tracebacks",
        "Tracebacks",
        show=False,
        tooltip="Show tracebacks whole or folded",
        id="toggle_tracebacks",
    ),
    Binding(
        "f8",
        "copy_join",
        "Copy join",
        show=False,
        tooltip="Copy the command others run to join (OSC 52: works over SSH)",
        id="copy_join",
    ),
    # Priority, as ctrl+f: the question is up before a `y` typed with the key is read.
    Binding(
        "f9",
        "restart",
        "Restart",
        show=False,
        priority=True,
        tooltip="Restart the kernel (one nbtui started), after asking",
        id="restart",
    ),
    Binding(
        "f10",
        "open_output",
        "Full output",
        show=False,
        tooltip="Open the output held back, whole, in a pager",
        id="open_output",
    ),
    Binding(
        "ctrl+s",
        "export",
        "Export",
        show=False,
        id="export",
        tooltip="Save the session as a notebook (.ipynb) or Markdown (.md)",
    ),
    Binding(
        "alt+s",
        "export_markdown",
        "Export to Markdown",
        show=False,
        id="export_markdown",
        tooltip="Save the session as Markdown, to paste into an issue or a chat",
    ),
]
"""The app's bindings (`NbtuiApp.BINDINGS`)."""

OBSERVER_BINDINGS: list[BindingType] = [
    Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True, id="interrupt")
]
"""What `--observe` changes: an observer interrupts nothing, so the footer does not offer
ctrl+c (the key stays, to say "read-only")."""

CONSOLE_ACTIONS = tuple(
    binding.action
    for binding in APP_BINDINGS
    if isinstance(binding, Binding) and binding.action != "quit"
)
"""The app's key actions that are the console screen's to do."""


def keyed_bindings() -> list[Binding]:
    """Every binding of the console that `[keys]` may rebind (those with an id): the
    app's, the console screen's, the editor's and the transcript's."""
    from nbtui.app.screens.console import ConsoleScreen  # noqa: PLC0415
    from nbtui.widgets.editor import CellEditor  # noqa: PLC0415
    from nbtui.widgets.transcript import TranscriptView  # noqa: PLC0415

    found: dict[str, Binding] = {}
    for owner_bindings in (
        APP_BINDINGS,
        ConsoleScreen.BINDINGS,
        CellEditor.BINDINGS,
        TranscriptView.BINDINGS,
    ):
        for binding in owner_bindings:
            if isinstance(binding, Binding) and binding.id is not None:
                found.setdefault(binding.id, binding)
    return list(found.values())
