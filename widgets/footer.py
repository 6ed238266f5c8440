"""The console's footer: Textual's, laid out again only when what it shows changes."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer

__all__ = ["SteadyFooter"]


class SteadyFooter(Footer):
    """A `Footer` that skips a recompose when the keys it would show are the ones it shows.

    Textual's footer composes its keys again after every change of the bindings (each
    focus change, each screen refresh of them): at startup that was five composes of the
    same keys, each one styled anew, before the first frame."""

    _shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        active = self.screen.active_bindings
        keys = tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip, binding.group)
            for _, binding, enabled, tooltip in active.values()
            if binding.show
        )
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (*keys, self.show_command_palette, palette and palette[1:])

    async def recompose(self) -> None:
        """Compose the keys again, if they changed since the last time."""
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
