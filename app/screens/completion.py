"""Tab completion: between the editor, the kernel's complete_request and the menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbtui.widgets.completions import CompletionMenu
from nbtui.widgets.editor import CellEditor

if TYPE_CHECKING:
    from textual.widget import Widget

    from nbtui.app.kernel.session import KernelSession

__all__ = ["Completion"]


class Completion:
    """Asks the kernel for completions and applies the one chosen.

    Args:
        owner: The screen holding the editor and the menu.
        session: The kernel session to ask.
    """

    def __init__(self, owner: Widget, session: KernelSession) -> None:
        self._owner = owner
        self._session = session

    @property
    def _editor(self) -> CellEditor:
        return self._owner.query_one(CellEditor)

    @property
    def _menu(self) -> CompletionMenu:
        return self._owner.query_one(CompletionMenu)

    async def complete(self, code: str, offset: int) -> None:
        """Complete `code` at `offset`: one match is applied, several open the menu."""
        result = await self._session.client.complete(code, offset)
        if self._session.closing or result is None or self._editor.text != code:
            return
        matches, start, end = result
        matches = list(dict.fromkeys(matches))
        if not matches:
            self._owner.notify("no completions", timeout=1.5)
            return
        if len(matches) == 1:
            self._apply(matches[0], start, end)
            return
        self._menu.show(matches, start, end)
        self._editor.menu_open = True

    def _apply(self, text: str, start: int, end: int) -> None:
        editor = self._editor
        code = editor.text
        new = code[:start] + text + code[end:]
        editor.load_text(new)
        before = new[: start + len(text)]
        editor.move_cursor((before.count("\n"), len(before) - (before.rfind("\n") + 1)))

    def hide(self) -> None:
        """Close the menu."""
        self._menu.hide()
        self._editor.menu_open = False

    def menu_key(self, key: str) -> None:
        """A key the editor passed on while the menu is open."""
        menu = self._menu
        if key in ("enter", "tab"):
            text = menu.take()
            self._editor.menu_open = False
            if text is not None:
                self._apply(text, menu.start, menu.end)
            # The editor holds the keys typed after the choice until now: they follow it.
            self._editor.decided()
        elif key == "up":
            menu.action_cursor_up()
        elif key == "down":
            menu.action_cursor_down()
        else:
            self.hide()
