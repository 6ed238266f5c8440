"""Finding and validating connection files.

jupyter_client validates nothing: a missing key silently becomes a random one and a
missing port becomes 0, both ending in a silent timeout. So every field is checked
here, and every problem becomes one sentence a person can act on.

What a valid file describes, :class:`ConnectionInfo`, lives in
:mod:`nbtui.app.kernel.connection_info`; it (with `CHANNELS` and `mask_key`) is
re-exported here, where the rest of nbtui has always imported it from.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

from jupyter_client.connect import find_connection_file
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.connection_info import CHANNELS, ConnectionInfo, mask_key
from nbtui.app.kernel.errors import NbtuiError

__all__ = [
    "CHANNELS",
    "ConnectionInfo",
    "connection_from_text",
    "load_connection_file",
    "mask_key",
    "parse_connection_info",
    "parse_connection_text",
    "path_problem",
    "resolve_connection_file",
    "too_deep",
]

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


def connection_from_text(text: str, where: str) -> ConnectionInfo:
    """The connection info in pasted text: a bare JSON object, or `%connect_info`'s block.

    `%connect_info` prints the JSON with instructions around it, so when the whole text
    is not JSON the first `{...}` object in it is taken.

    Raises:
        NbtuiError: When no valid connection JSON is found, naming the problem.
    """
    stripped = text.strip()
    try:
        return parse_connection_info(json.loads(stripped), where)
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise too_deep(where) from None
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            data, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        except RecursionError:
            # Every later "{" is nested as deep or nearly: trying each would take minutes.
            raise too_deep(where) from None
        return parse_connection_info(data, where)
    # Nothing decodes: report the whole text's JSON error, with its line and column.
    return parse_connection_text(stripped, where)
