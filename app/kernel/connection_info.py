"""The connection a validated connection file describes: a kernel target on ZeroMQ.

:class:`ConnectionInfo` is what :mod:`nbtui.app.kernel.connection` builds once every
field has been checked. It says where the kernel's five sockets are and how to sign
messages to them, and answers, as a `KernelTarget`, what the panes and the error
messages need (where the kernel is, whether it is local, how to word its silence).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.target import PaneRow, pane_row, value_row

__all__ = ["CHANNELS", "ConnectionInfo", "mask_key"]

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
"""The five ZeroMQ channels of a kernel, in the order a connection file lists their ports."""


def mask_key(key: str) -> str:
    """Show just enough of a key to tell two apart, never enough to use it.

    Args:
        key: The HMAC key.

    Returns:
        The first four characters followed by bullets, or "none" for an empty key.
    """
    if not key:
        return "none (messages unsigned)"
    if len(key) < 16:
        return "••••"
    return key[:4] + "••••"


@dataclass(frozen=True)
class ConnectionInfo:
    """A validated connection file: a `KernelTarget` reached over ZeroMQ."""

    transport: str
    ip: str
    ports: dict[str, int]
    key: str = field(repr=False)
    """The HMAC key. Kept out of repr so it cannot leak into a log or a traceback."""
    signature_scheme: str
    kernel_name: str = ""
    path: Path | None = None
    curve_publickey: str | None = field(default=None, repr=False)
    curve_secretkey: str | None = field(default=None, repr=False)
    group_readable: bool = False
    """True when users other than the owner may read the file, and so the key."""
    tunnel: str | None = None
    """How the ports are reached when not directly, e.g. "ssh root@127.0.0.1:2222"."""
    remote: str | None = None
    """The ssh destination on which `path` lives, for a file found there (`--ssh HOST
    --existing`); None for a file on this machine."""

    @property
    def masked_key(self) -> str:
        """The key as `mask_key` shows it."""
        return mask_key(self.key)

    @property
    def curve(self) -> bool:
        """Whether the connection is encrypted with CurveZMQ."""
        return bool(self.curve_publickey and self.curve_secretkey)

    def url(self, channel: str) -> str:
        """The zmq URL of a channel, as jupyter_client builds it."""
        port = self.ports[channel]
        if self.transport == "tcp":
            # jupyter_client connects to 0.0.0.0 for "*"; zmq refuses "*" in connect.
            ip = "0.0.0.0" if self.ip == "*" else self.ip
            return f"tcp://{ip}:{port}"
        return f"{self.transport}://{self.ip}-{port}"

    def endpoint(self, channel: str) -> str:
        """A channel's address as people write it: `host:port`, `[::1]:port` for IPv6,
        and the socket's path for ipc (which has no port: it is part of the path)."""
        port = self.ports[channel]
        if self.transport == "ipc":
            return f"{self.ip}-{port}"
        if ":" in self.ip and not self.ip.startswith("["):
            return f"[{self.ip}]:{port}"
        return f"{self.ip}:{port}"

    def as_jupyter_dict(self) -> dict[str, Any]:
        """The form jupyter_client's `load_connection_info` takes."""
        info: dict[str, Any] = {
            "transport": self.transport,
            "ip": self.ip,
            "key": self.key,
            "signature_scheme": self.signature_scheme,
            "kernel_name": self.kernel_name,
        }
        for name, port in self.ports.items():
            info[f"{name}_port"] = port
        if self.curve:
            info["curve_publickey"] = self.curve_publickey
            info["curve_secretkey"] = self.curve_secretkey
        return info

    def join_command(self) -> str:
        """The command another person runs to attach to the same kernel."""
        if self.path is None:
            return "nbtui --existing -"
        if self.remote is not None:
            return f"nbtui --ssh {self.remote} --existing {self.path.name}"
        runtime = Path(jupyter_runtime_dir())
        if self.path.parent == runtime:
            return f"nbtui --existing {self.path.name}"
        return f"nbtui --existing {self.path}"

    # -- KernelTarget ----------------------------------------------------------------------

    @property
    def transport_name(self) -> str:
        """The kernel's own ZeroMQ sockets."""
        return "zmq"

    @property
    def label(self) -> str:
        """The connection file's name, or "stdin" for one given inline."""
        return self.path.name if self.path else "stdin"

    @property
    def is_local(self) -> bool:
        """The one rule for the resource pane and for discovery (`--list`, the picker,
        prune): the connection decides, not only its ip. A tunnel's 127.0.0.1 is ssh's end
        of a remote kernel, an ipc kernel is always here, and `::` and `*` listen here as
        `0.0.0.0` does."""
        if self.tunnel:
            # 127.0.0.1 here is our end of an SSH tunnel: its listener is ssh, not the kernel.
            return False
        if self.transport == "ipc":
            return True
        return _is_local_address(self.ip)

    @property
    def pid_port(self) -> int | None:
        """The shell port, which the kernel process itself listens on, when local and
        on TCP (an ipc kernel's "ports" are file name suffixes)."""
        return self.ports["shell"] if self.transport == "tcp" and self.is_local else None

    @property
    def pings_kernel(self) -> bool:
        """Yes: the heartbeat is the kernel's own echo thread."""
        return True

    @property
    def exposure_notice(self) -> str:
        """A warning when other users can read the file, and so the key."""
        if not self.group_readable:
            return ""
        return (
            f"{self.path} can be read by other users: whoever reads its key can run code as "
            "the kernel's user (chmod 600 it)"
        )

    @property
    def pane_warning(self) -> str:
        """The same warning as the connection pane words it."""
        if not self.group_readable:
            return ""
        return (
            "the connection file is readable by other users: whoever reads its key "
            "can run code as the kernel's user (chmod 600 it)"
        )

    @property
    def restart_detail(self) -> str:
        """A kernel restarted by its manager keeps its connection file and ports."""
        return "on the same ports"

    @property
    def restarting_detail(self) -> str:
        """A kernel on ZeroMQ ports is restarted by whoever started it (its
        KernelManager), never by a client like us."""
        return "its owner restarts it"

    def pane_rows(self, transport: str) -> tuple[PaneRow, ...]:
        """File, transport and ip, signature scheme, masked key, Curve, tunnel, ports.

        `transport` is not shown: the file's own transport and the tunnel row say it.
        """
        where = _short_path(self.path) if self.path is not None else "(no file: given inline)"
        rows = [
            value_row("file", where),
            pane_row(
                "",
                (f"{self.transport} {self.ip}", "value"),
                " · ",
                (self.signature_scheme, "value"),
                " · key ",
                (self.masked_key, "value"),
                " · curve ",
                ("on" if self.curve else "off", "value"),
            ),
        ]
        if self.tunnel:
            rows.append(value_row("tunnel", self.tunnel))
        ports = self.ports
        rows.append(
            pane_row(
                "ports",
                "shell ",
                (str(ports["shell"]), "value"),
                "  iopub ",
                (str(ports["iopub"]), "value"),
                "  stdin ",
                (str(ports["stdin"]), "value"),
                "  control ",
                (str(ports["control"]), "value"),
                "  hb ",
                (str(ports["hb"]), "value"),
            )
        )
        return tuple(rows)

    def _where(self) -> str:
        return str(self.path) if self.path else "the connection info"

    def no_heartbeat(self, timeout: float) -> str:
        """A dead kernel, most likely: its connection file outlived it."""
        return (
            f"the kernel of {self._where()} does not answer: no heartbeat from "
            f"{self.endpoint('hb')} in {timeout:g} s "
            "(it may have died; its connection file can outlive it)"
        )

    def no_reply(self, timeout: float, bad_signatures: int, *, key_proven: bool) -> str:
        """A heartbeat without answers: the key, most likely, unless messages signed
        with it came (then the kernel may be stuck)."""
        if key_proven:
            return (
                f"the kernel of {self._where()} answers its heartbeat and signs with this "
                f"key, but did not answer kernel_info within {timeout:g} s (it may be stuck)"
            )
        detail = (
            f" ({bad_signatures} messages failed the signature check)" if bad_signatures else ""
        )
        return (
            f"the kernel of {self._where()} answers its heartbeat but not requests: "
            f"the key is probably wrong{detail}"
        )


def _short_path(path: Path) -> str:
    home = str(Path.home())
    text = str(path)
    if home not in ("", "/") and text.startswith(home + "/"):
        return "~" + text[len(home) :]
    return text


@functools.lru_cache(maxsize=64)
def _is_local_address(ip: str) -> bool:
    if ip in ("localhost", "*"):
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False  # a host name: resolving it could wait on DNS
    if address.is_loopback or address.is_unspecified:
        return True
    with contextlib.suppress(psutil.Error, OSError, RuntimeError):
        for addresses in psutil.net_if_addrs().values():
            if any(entry.address == ip for entry in addresses):
                return True
    return False
