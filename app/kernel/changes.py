"""What changed in a kernel session since the UI last looked: one frame's worth."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbtui.app.kernel.messages import Msg
    from nbtui.app.kernel.model import Entry

__all__ = ["SessionChanges"]


@dataclass
class SessionChanges:
    """What changed since the previous `KernelSession.drain()`: what a frame redraws."""

    removed: list[Entry] = field(default_factory=list)
    """Transcript entries gone (scrollback trimmed)."""
    changed: list[Entry] = field(default_factory=list)
    """Transcript entries new or changed."""
    input_requests: list[Msg] = field(default_factory=list)
    """`input()` prompts from the kernel for our cells, oldest first."""
    ask_again: Msg | None = None
    """An `input()` prompt ctrl+c closed, back because the interrupt did not take."""
    close_input: bool = False
    """The kernel died or restarted: an open `input()` prompt has no one to answer."""
    kernel_info: bool = False
    """kernel_info was (re)read: the kernel's name, language and connection to redraw."""
    liveness: bool = False
    """The liveness snapshot changed (the status line and summary follow it)."""
    liveness_news: bool = False
    """The liveness pane should redraw (not for a mere round-trip wiggle while settled)."""
    usage: bool = False
    """A new usage snapshot."""
    peers: bool = False
    """Messages were applied: the peers may have changed."""

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))
