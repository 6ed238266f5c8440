"""A kernel on a Jupyter Server as nbtui knows it: the REST API's model of it, and where
it is (a `KernelTarget` reached over the server's WebSocket)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.target import PaneRow, pane_row, value_row

__all__ = ["KIND_NAMES", "ServerKernel", "ServerKernelModel", "safe"]

KIND_NAMES = {
    "server": "the Jupyter Server",
    "gateway": "the kernel gateway",
    "hub": "the JupyterHub server",
    "hub-api": "JupyterHub",
}
"""How messages name each kind of server."""

_PANE_LABELS = {"gateway": "gateway", "hub": "hub"}


@dataclass(frozen=True)
class ServerKernelModel:
    """One kernel as the server's REST API describes it."""

    id: str
    name: str
    execution_state: str
    connections: int
    last_activity: str

    @classmethod
    def from_json(cls, raw: object) -> ServerKernelModel:
        """From the server's JSON, which reaches the terminal: every string is made safe
        (a hostile server or a kernelspec's name could carry escape sequences)."""
        data = raw if isinstance(raw, dict) else {}
        connections = data.get("connections")
        return cls(
            id=safe(data.get("id", "")),
            name=safe(data.get("name", "")),
            execution_state=safe(data.get("execution_state", "unknown")),
            connections=connections if isinstance(connections, int) else 0,
            last_activity=safe(data.get("last_activity", "")),
        )


def safe(value: object) -> str:
    """`value` as text made safe for the terminal."""
    return sanitize_line(str(value))


@dataclass(frozen=True)
class ServerKernel:
    """Where a kernel on a Jupyter Server is: a `KernelTarget` reached over its WebSocket."""

    base_url: str
    kernel_id: str
    kernel_name: str
    token: str = field(repr=False)
    token_source: str = ""
    created: bool = False
    server_kind: str = "server"
    """"server", "gateway" or "hub": what the connection pane and messages call it."""
    """nbtui asked the server for this kernel: the only kind it may delete."""

    @property
    def masked_token(self) -> str:
        """Never any of the token itself: a token is a login, not a fingerprint."""
        if not self.token:
            return "none"
        return f"•••••••• ({self.token_source})" if self.token_source else "••••••••"

    def ws_url(self, session_id: str) -> str:
        """The kernel's channels, for a client whose session id is `session_id`."""
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"session_id": session_id})
        path = f"{parts.path}/api/kernels/{self.kernel_id}/channels"
        return urllib.parse.urlunsplit((scheme, parts.netloc, path, query, ""))

    def join_command(self) -> str:
        """How another user joins; they bring their own token."""
        return f"nbtui --server {self.base_url} --kernel-id {self.kernel_id}"

    # -- KernelTarget ----------------------------------------------------------------------

    @property
    def transport_name(self) -> str:
        """The server's WebSocket channels."""
        return "websocket"

    @property
    def label(self) -> str:
        """The server's host and port, and the kernel id's first eight characters."""
        return f"{urllib.parse.urlsplit(self.base_url).netloc} {self.kernel_id[:8]}"

    @property
    def is_local(self) -> bool:
        """Never: even on this machine, its ports and process are the server's secret."""
        return False

    @property
    def pid_port(self) -> None:
        """None: the kernel is not local."""
        return None

    @property
    def pings_kernel(self) -> bool:
        """No: the WebSocket's ping proves the server; the server watches the kernel."""
        return False

    @property
    def exposure_notice(self) -> str:
        """None: the token is the user's own."""
        return ""

    @property
    def pane_warning(self) -> str:
        """None, as `exposure_notice`."""
        return ""

    @property
    def restart_detail(self) -> str:
        """Nothing to add: the server restarts it wherever it likes."""
        return ""

    @property
    def restarting_detail(self) -> str:
        """A server says so on its own, on the kernel's iopub."""
        return "its server says so"

    def pane_rows(self, transport: str) -> tuple[PaneRow, ...]:
        """The server, how messages travel, the masked token, and the kernel's id."""
        return (
            value_row(_PANE_LABELS.get(self.server_kind, "server"), self.base_url),
            pane_row(
                "", (transport or "websocket", "value"), " · token ", (self.masked_token, "value")
            ),
            pane_row(
                "id",
                (self.kernel_id, "value"),
                " · ",
                (self.kernel_name or "?", "value"),
                (" · started by nbtui" if self.created else "", "muted"),
            ),
        )

    def no_heartbeat(self, timeout: float) -> str:
        """The server's WebSocket did not answer its ping."""
        return (
            f"{KIND_NAMES.get(self.server_kind, KIND_NAMES['server'])} at {self.base_url} "
            "does not answer the WebSocket of "
            f"kernel {self.kernel_id} within {timeout:g} s"
        )

    def no_reply(self, timeout: float, bad_signatures: int, *, key_proven: bool) -> str:
        """The kernel does not answer through its server (the server signs: no key)."""
        return (
            f"kernel {self.kernel_id} on {self.base_url} does not answer requests "
            f"within {timeout:g} s (it may still be starting, or be stuck)"
        )
