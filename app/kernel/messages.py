"""Kernel messages as typed values, so nothing above the kernel layer indexes raw dicts."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Msg", "kernel_event", "short_session"]

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def short_session(session: str) -> str:
    """The four hex digits that tell two clients apart on screen."""
    # Another client's header sets it: only letters and digits may reach the screen
    # ("\x1bc" alone would reset the terminal).
    return _NOT_ALNUM.sub("", session)[:4] or "????"


@dataclass(slots=True)
class Msg:
    """One decoded, signature-checked message from the kernel."""

    channel: str
    msg_type: str
    msg_id: str
    content: dict[str, Any]
    parent_id: str = ""
    """msg_id of the request that caused this message: the routing key."""
    parent_session: str = ""
    """Session id of the client whose request caused this: who did it."""
    parent_username: str = ""
    parent_msg_type: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    """The raw header, kept to address a reply (input_reply) to this message."""
    received: float = field(default_factory=time.monotonic)

    @classmethod
    def from_dict(cls, channel: str, raw: dict[str, Any]) -> Msg:
        """Build from jupyter_client's deserialized form, tolerating missing parts.

        Kernel output is untrusted, so every field is checked for type and a missing or
        odd one becomes empty rather than an exception in the reader.
        """
        header = raw.get("header")
        parent = raw.get("parent_header")
        content = raw.get("content")
        metadata = raw.get("metadata")
        header = header if isinstance(header, dict) else {}
        parent = parent if isinstance(parent, dict) else {}
        return cls(
            channel=channel,
            msg_type=_str(header.get("msg_type")) or _str(raw.get("msg_type")),
            msg_id=_str(header.get("msg_id")),
            content=content if isinstance(content, dict) else {},
            parent_id=_str(parent.get("msg_id")),
            parent_session=_str(parent.get("session")),
            parent_username=_str(parent.get("username")),
            parent_msg_type=_str(parent.get("msg_type")),
            metadata=metadata if isinstance(metadata, dict) else {},
            header=header,
        )


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def kernel_event(msg: Msg) -> str:
    """ "restarting" or "dead" when this iopub message says the kernel is going away."""
    if msg.msg_type == "status":
        state = msg.content.get("execution_state")
        if state in ("restarting", "autorestarting", "dead"):
            return "dead" if state == "dead" else "restarting"
    elif msg.msg_type == "shutdown_reply" and msg.content.get("restart") is True:
        return "restarting"
    return ""
