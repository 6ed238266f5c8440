"""The kernel's read-only services, as requests with parsed replies.

Completions, `is_complete` and history each send one shell request and read its reply
defensively: a kernel may answer with a field missing or of the wrong type, and these
give None or an empty list rather than raising. :class:`KernelRequests` needs only
`request`; `KernelClient` provides it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from nbtui.app.kernel.messages import Msg

__all__ = ["KernelRequests"]


class KernelRequests(ABC):
    """Completions, `is_complete` and history over an abstract `request`."""

    @abstractmethod
    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        """Send a request and wait for its reply, or None after `timeout` seconds."""

    async def is_complete(self, code: str, timeout: float = 0.5) -> str | None:
        """The kernel's verdict ("complete", "incomplete", "invalid", "unknown") or None."""
        reply = await self.request("shell", "is_complete_request", {"code": code}, timeout)
        if reply is None:
            return None
        status = reply.content.get("status")
        return status if isinstance(status, str) else None

    async def complete(
        self, code: str, cursor_pos: int, timeout: float = 10.0
    ) -> tuple[list[str], int, int] | None:
        """Completions at `cursor_pos`: (matches, cursor_start, cursor_end), or None.

        The wait is long because IPython's first completion loads Jedi (seconds on a busy
        host) and a running cell holds the shell channel; the caller drops a late answer
        if the code was edited meanwhile, so waiting costs the user nothing.
        """
        reply = await self.request(
            "shell", "complete_request", {"code": code, "cursor_pos": cursor_pos}, timeout
        )
        if reply is None or reply.content.get("status") != "ok":
            return None
        matches = reply.content.get("matches")
        start = reply.content.get("cursor_start", cursor_pos)
        end = reply.content.get("cursor_end", cursor_pos)
        if not isinstance(matches, list):
            return None
        return (
            [str(match) for match in matches],
            start if isinstance(start, int) else cursor_pos,
            end if isinstance(end, int) else cursor_pos,
        )

    async def history(self, timeout: float = 3.0) -> list[str]:
        """This kernel's inputs from every client, oldest first."""
        return [code for _, code in await self.numbered_history(timeout)]

    async def numbered_history(self, timeout: float = 3.0) -> list[tuple[int, str]]:
        """This kernel's inputs from every client with their execution counts, oldest first.

        `range` over session 0 is this kernel's own history; `tail` would also mix in
        other kernels that share the IPython profile.
        """
        reply = await self.request(
            "shell",
            "history_request",
            {
                "output": False,
                "raw": True,
                "hist_access_type": "range",
                "session": 0,
                "start": 1,
                "stop": None,
            },
            timeout,
        )
        if reply is None:
            return []
        entries = reply.content.get("history")
        if not isinstance(entries, list):
            return []
        inputs: list[tuple[int, str]] = []
        for entry in entries:
            if (
                isinstance(entry, (list, tuple))
                and len(entry) >= 3
                and isinstance(entry[1], int)
                and isinstance(entry[2], str)
            ):
                inputs.append((entry[1], entry[2]))
        return inputs
