"""Finding and validating connection files.

jupyter_client validates nothing: a missing key silently becomes a random one and a
missing port becomes 0, both ending in a silent timeout. So every field is checked
here, and every problem becomes one sentence a person can act on.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.connect import find_connection_file
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.target import PaneRow, pane_row, value_row

__all__ = [
    "CHANNELS",
    "ConnectionInfo",
    "load_connection_file",
    "mask_key",
    "parse_connection_info",
    "parse_connection_text",
    "path_problem",
    "resolve_connection_file",
    "too_deep",
]

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
SIGNATURE_SCHEMES = (
    "hmac-md5",
    "hmac-sha1",
    "hmac-sha224",
    "hmac-sha256",
    "hmac-sha384",
    "hmac-sha512",
)
TRANSPORTS = ("tcp", "ipc")

_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?\Z")
"""A host name (or an interface name) as zmq resolves one: dot-separated labels of letters,
digits, `_` and `-`, none starting or ending with `-`."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_tcp_host(ip: str) -> bool:
    """True for an address or name zmq can connect a tcp socket to.

    zmq refuses the rest in `connect()` ("-1", "a b", a trailing newline), and it is
    better to name the field than to report an "Invalid argument" from deep inside.
    """
    if ip == "*":  # jupyter_client's alias for 0.0.0.0
        return True
    address = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return len(ip) <= 253 and _HOST_NAME.match(ip) is not None
    return True


def _shown(value: str, limit: int = 60) -> str:
    """A field's value as an error shows it: quoted, escapes visible, never too long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "…" + text[-3:]


_IPC_PATH_MAX = 107 if sys.platform.startswith("linux") else 103
"""Bytes of a unix socket's path (sun_path, less its terminating NUL); zmq refuses longer."""


def _ip_problem(transport: str, ip: str, ports: dict[str, int]) -> str | None:
    if transport == "ipc":
        if _CONTROL.search(ip):
            return f"the ipc path has a control character: {_shown(ip)}"
        longest = max(len(os.fsencode(f"{ip}-{port}")) for port in ports.values())
        if longest > _IPC_PATH_MAX:
            return (
                f"the ipc socket paths are too long ({longest} bytes, at most "
                f"{_IPC_PATH_MAX}): {_shown(ip)}"
            )
        return None
    if not _is_tcp_host(ip):
        return f"ip is not an address or host name to connect to: {_shown(ip)}"
    return None


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


def resolve_connection_file(name: str | None) -> Path:
    """Find a connection file the way `jupyter console --existing` does.

    Args:
        name: A path, a partial name such as "4342f6", or None for the newest kernel.

    Returns:
        The path of the connection file.

    Raises:
        NbtuiError: When nothing matches.
    """
    pattern = name or "kernel-*.json"
    if name and os.path.isfile(name):
        return Path(name).resolve()
    problem = path_problem(name) if name else None
    if problem:
        raise NbtuiError(f"{name} {problem}")
    if name is None:
        candidates = [
            path
            for folder in (Path("."), Path(jupyter_runtime_dir()))
            for path in folder.glob("kernel-*.json")
            if path.is_file()
        ]
        if candidates:
            return max(candidates, key=lambda path: path.stat().st_mtime).resolve()
    try:
        found = find_connection_file(pattern, path=[".", jupyter_runtime_dir()])
    except OSError:
        if name is None:
            raise NbtuiError(
                f"no kernel connection files in {jupyter_runtime_dir()}: start a kernel, "
                "or run nbtui without --existing to start one"
            ) from None
        if os.sep in name or name.endswith(".json"):
            raise NbtuiError(f"connection file not found: {name}") from None
        raise NbtuiError(
            f"no kernel matches {name!r} in the current directory or {jupyter_runtime_dir()}"
        ) from None
    return Path(found).resolve()


def _port(data: dict[str, Any], channel: str, where: str) -> int:
    key = f"{channel}_port"
    if key not in data:
        raise NbtuiError(f"{where} has no {key}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise NbtuiError(f"{where}: {key} is not an integer: {value!r}")
    if not 0 < value < 65536:
        raise NbtuiError(f"{where}: {key} is out of range: {value}")
    return value


def parse_connection_info(data: object, where: str, path: Path | None = None) -> ConnectionInfo:
    """Validate the decoded JSON of a connection file.

    Args:
        data: The decoded JSON.
        where: How to name the source in messages, usually the file path.
        path: The file it came from, if any.

    Raises:
        NbtuiError: Naming the first problem found.
    """
    if not isinstance(data, dict):
        raise NbtuiError(f"{where} is not a connection file (a JSON object is expected)")
    transport = data.get("transport", "tcp")
    if transport not in TRANSPORTS:
        raise NbtuiError(f"{where}: unknown transport {transport!r} (expected tcp or ipc)")
    if "ip" not in data:
        raise NbtuiError(f"{where} has no ip")
    ip = data["ip"]
    if not isinstance(ip, str) or not ip:
        raise NbtuiError(f"{where}: ip is not a string: {ip!r}")
    if "key" not in data:
        raise NbtuiError(f"{where} has no key")
    key = data["key"]
    if not isinstance(key, str):
        raise NbtuiError(f"{where}: key is not a string")
    scheme = data.get("signature_scheme", "hmac-sha256")
    if scheme not in SIGNATURE_SCHEMES:
        raise NbtuiError(f"{where}: unknown signature scheme {scheme!r}")
    ports = {channel: _port(data, channel, where) for channel in CHANNELS}
    problem = _ip_problem(transport, ip, ports)
    if problem:
        raise NbtuiError(f"{where}: {problem}")
    group_readable = False
    if path is not None:
        try:
            group_readable = bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
        except OSError:
            group_readable = False
    kernel_name = data.get("kernel_name", "")
    return ConnectionInfo(
        transport=transport,
        ip=ip,
        ports=ports,
        key=key,
        signature_scheme=scheme,
        kernel_name=kernel_name if isinstance(kernel_name, str) else "",
        path=path,
        curve_publickey=data.get("curve_publickey"),
        curve_secretkey=data.get("curve_secretkey"),
        group_readable=group_readable,
    )


def parse_connection_text(text: str, where: str, path: Path | None = None) -> ConnectionInfo:
    """Validate a connection file's text.

    Raises:
        NbtuiError: When the text is not JSON or a field is wrong.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NbtuiError(
            f"{where} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise too_deep(where) from None
    return parse_connection_info(data, where, path)


def too_deep(where: str) -> NbtuiError:
    """The error for JSON nested deeper than Python's parser goes (`[[[[...]]]]`)."""
    return NbtuiError(f"{where} is not a connection file (its JSON is nested too deeply)")


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why an existing name cannot be a connection file ("is a directory", "is a symlink
    loop"), or None. A missing file is the caller's to report."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return "is a symlink loop" if error.errno == errno.ELOOP else None
    if stat.S_ISDIR(mode):
        return "is a directory, not a connection file"
    return None


def load_connection_file(path: Path) -> ConnectionInfo:
    """Read and validate a connection file.

    Raises:
        NbtuiError: When the file cannot be read or is not a valid connection file.
    """
    problem = path_problem(path)
    if problem:
        raise NbtuiError(f"{path} {problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NbtuiError(f"connection file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise NbtuiError(f"cannot read connection file {path}: {error}") from None
    return parse_connection_text(text, str(path), path)
