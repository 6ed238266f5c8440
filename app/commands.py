"""The command palette's nbtui commands (ctrl+p): every action of the console by name.

The commands are the app's and the console screen's bindings, read when the palette
opens: a binding's description is the command's name, its key (after the config file's
`[keys]`) is shown beside it, and its tooltip is the help line. An action another part
of nbtui binds with a description is in the palette without a word here. A few commands
without a key of their own (`EXTRA_COMMANDS`) are added.

Typing searches the names first, then the help lines (a little lower), so "earlier
inputs" finds F5's "Earlier" through its help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from textual.actions import parse as parse_action
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from textual.dom import DOMNode

__all__ = ["EXTRA_COMMANDS", "NbtuiCommand", "NbtuiCommands", "nbtui_commands"]


@dataclass(frozen=True)
class NbtuiCommand:
    """One palette command: an action of `node` by name."""

    name: str
    """What the palette lists and matches."""
    help: str
    """The line under the name."""
    action: str
    """The action, as a binding writes it (`toggle_panes`, `run(True)`)."""
    node: DOMNode
    """Where the action runs (the app or the console screen)."""
    keys: str = ""
    """The key(s) shown beside the name, as the footer shows them; "" when none."""
    run: Callable[[DOMNode], None] | None = None
    """What to do with `node` instead of an action, for a command without a key."""


def _scroll_home(screen: DOMNode) -> None:
    screen.query_one("TranscriptView").scroll_home(animate=False)


def _scroll_end(screen: DOMNode) -> None:
    screen.query_one("TranscriptView").scroll_end(animate=False)


def _focus_editor(screen: DOMNode) -> None:
    screen.query_one("CellEditor").focus()


EXTRA_COMMANDS: Final[tuple[tuple[str, str, Callable[[DOMNode], None]], ...]] = (
    ("Scroll to the top", "The transcript's first line", _scroll_home),
    ("Scroll to the end", "The newest output, followed from there on", _scroll_end),
    ("Focus the editor", "Type a cell", _focus_editor),
)
"""(name, help, what to do with the console screen) of commands without a key."""


def _described(binding: Binding) -> str:
    if binding.description:
        return binding.description
    name = binding.action.split("(", 1)[0]
    return name.replace("_", " ").capitalize()


def nbtui_commands(node: DOMNode, screen: DOMNode) -> Iterator[NbtuiCommand]:
    """The commands of `node` (the app) and `screen` (the console): their bindings that
    have an id (nbtui's own: Textual's have none), then `EXTRA_COMMANDS`.

    A binding whose action the node refuses now (`check_action`) is left out, as the
    footer leaves it out.
    """
    app = node.app
    keymap: Mapping[str, str] = app._keymap
    for owner in (node, screen):
        by_id: dict[str, tuple[Binding, list[str]]] = {}
        for key, binding in owner._bindings:
            if binding.id is not None:
                by_id.setdefault(binding.id, (binding, []))[1].append(key)
        for binding_id, (binding, bound) in by_id.items():
            _, action_name, parameters = parse_action(binding.action)
            if owner.check_action(action_name, parameters) is False:
                continue
            keys = bound
            if binding_id in keymap:
                keys = [key.strip() for key in keymap[binding_id].split(",")]
            shown = ", ".join(app.get_key_display(Binding(key, binding.action)) for key in keys)
            help_text = binding.tooltip or _described(binding)
            yield NbtuiCommand(_described(binding), help_text, binding.action, owner, shown)
    if not screen.query("CellEditor"):
        return  # another screen over the console (the pager)
    for name, help_text, do in EXTRA_COMMANDS:
        yield NbtuiCommand(name, help_text, "", screen, run=do)


class NbtuiCommands(Provider):
    """nbtui's actions for the command palette, each with its key."""

    def _commands(self) -> list[NbtuiCommand]:
        return list(nbtui_commands(self.app, self.screen))

    def _display(self, name: Content | str, command: NbtuiCommand) -> Content:
        title = name if isinstance(name, Content) else Content(name)
        if not command.keys:
            return title
        return Content.assemble(title, "  ", (command.keys, "$text-muted"))

    def _runner(self, command: NbtuiCommand) -> Callable[[], Awaitable[object]]:
        async def run() -> None:
            if command.run is not None:
                command.run(command.node)
            else:
                await self.app.run_action(command.action, command.node)

        return run

    async def discover(self) -> Hits:
        """Every command, in the order of the bindings, when nothing is typed yet."""
        for command in self._commands():
            yield DiscoveryHit(
                self._display(command.name, command),
                self._runner(command),
                text=command.name,
                help=command.help,
            )

    async def search(self, query: str) -> Hits:
        """The commands whose name matches `query`, or else whose help line does."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            name: Content | str = command.name
            if score > 0:
                name = matcher.highlight(command.name)
            else:
                # Ranked below a match on a name: the help line is long and matches easily.
                score = matcher.match(command.help) * 0.5
            if score > 0:
                yield Hit(
                    score,
                    self._display(name, command),
                    self._runner(command),
                    text=command.name,
                    help=command.help,
                )
