"""`--ssh HOST --list` and `--ssh HOST --existing [NAME]`: the connection files of another
machine, found through the same ssh that then tunnels to the chosen kernel.

One ssh command runs a short Python script on the remote side (fed on stdin to `python3 -`,
so no quoting and nothing installed there beyond a shell and Python 3). The script finds
the runtime dir as Jupyter does (`--remote-runtime-dir`, else `$JUPYTER_RUNTIME_DIR`, else
`jupyter_core` when it is installed, else the default path), reads each `kernel-*.json`,
and tells whether something listens on its heartbeat port there: a connect from the
kernel's own machine, which needs no tunnel and sees the ip the file names. The files'
contents (keys included) come back over ssh's encrypted channel and are never shown.

Everything here blocks: the caller runs it in a worker thread.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from nbtui.app.kernel.connection import ConnectionInfo, parse_connection_text
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.tunnel import parse_server, ssh_base, ssh_failure

__all__ = ["RemoteFile", "RemoteListing", "choose", "list_remote"]

_SCRIPT = r"""
import glob, json, os, socket, sys
def runtime_dir():
    given = ARGS.get("runtime_dir") or os.environ.get("JUPYTER_RUNTIME_DIR")
    if given:
        return os.path.expanduser(given)
    try:
        from jupyter_core.paths import jupyter_runtime_dir
        return jupyter_runtime_dir()
    except Exception:
        pass
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Jupyter/runtime")
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "jupyter", "runtime")
def listening(ip, port):
    host = {"0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1"}.get(ip, ip)
    try:
        socket.create_connection((host, port), 1.0).close()
        return True
    except (OSError, ValueError):
        return False
folder = runtime_dir()
found = []
for path in glob.glob(os.path.join(folder, "kernel-*.json")):
    entry = {"path": path, "mtime": 0.0, "alive": None, "text": "", "error": ""}
    try:
        entry["mtime"] = os.path.getmtime(path)
        with open(path) as handle:
            entry["text"] = handle.read(1 << 16)
        data = json.loads(entry["text"])
        if data.get("transport", "tcp") == "tcp":
            entry["alive"] = listening(str(data.get("ip", "")), int(data["hb_port"]))
    except Exception as error:
        entry["error"] = str(error)[:200]
    found.append(entry)
sys.stdout.write(json.dumps({"dir": folder, "files": found}))
"""

_NO_PYTHON = 127
"""The shell's status for a command it cannot find (python3, or what its shim runs)."""


@dataclass(frozen=True)
class RemoteFile:
    """One connection file on the remote side."""

    path: PurePosixPath
    """Its path there."""
    mtime: float
    """Its modification time there (`time.time()` of that machine)."""
    alive: bool | None
    """Something listens on its heartbeat port there; None: not known (ipc, unreadable)."""
    info: ConnectionInfo | None
    """The validated connection, set to be tunnelled to; None when invalid."""
    problem: str = ""
    """Why the file is invalid, when it is."""

    @property
    def name(self) -> str:
        """The file's name."""
        return self.path.name

    @property
    def state(self) -> str:
        """alive, stale (nothing listens), invalid, or unknown."""
        if self.info is None:
            return "invalid"
        if self.alive is None:
            return "unknown"
        return "alive" if self.alive else "stale"


@dataclass(frozen=True)
class RemoteListing:
    """What the remote side's runtime dir holds."""

    server: str
    """The ssh destination as given."""
    runtime_dir: str
    """The runtime dir there."""
    files: list[RemoteFile]
    """Its connection files, newest first."""


def _command(server: str, keyfile: str | None) -> list[str]:
    return [*ssh_base(server, keyfile), "--", parse_server(server)[0], "python3 -"]


def _parse_file(raw: object, server: str) -> RemoteFile | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        return None
    path = PurePosixPath(raw["path"])
    mtime = raw.get("mtime")
    alive = raw.get("alive")
    where = f"{server}:{path}"
    info = None
    problem = sanitize_line(str(raw.get("error") or ""))
    if not problem:
        try:
            parsed = parse_connection_text(str(raw.get("text") or ""), where)
        except NbtuiError as error:
            problem = str(error)
        else:
            info = replace(parsed, path=Path(str(path)), remote=server)
    return RemoteFile(
        path=path,
        mtime=float(mtime) if isinstance(mtime, (int, float)) else 0.0,
        alive=alive if isinstance(alive, bool) else None,
        info=info,
        problem=problem,
    )


def list_remote(
    server: str,
    keyfile: str | None = None,
    runtime_dir: str | None = None,
    timeout: float = 30.0,
) -> RemoteListing:
    """The connection files in the runtime dir of `server`, read through one ssh command.

    Args:
        server: `user@host[:port]`, or an alias from the ssh config.
        keyfile: A private key to log in with.
        runtime_dir: The runtime dir there; None: as Jupyter finds it there.
        timeout: Seconds the whole ssh command may take.

    Raises:
        NbtuiError: One line: ssh failed (its own reason), no python3 there, or the
            answer was not understood.
    """
    if keyfile is not None and not Path(keyfile).is_file():
        raise NbtuiError(f"--sshkey {keyfile}: no such file")
    script = f"ARGS = json.loads({json.dumps(json.dumps({'runtime_dir': runtime_dir}))})\n"
    script = "import json\n" + script + _SCRIPT
    try:
        result = subprocess.run(
            _command(server, keyfile),
            input=script.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise NbtuiError("--ssh needs the OpenSSH client (ssh) on PATH") from None
    except subprocess.TimeoutExpired:
        raise NbtuiError(f"ssh to {server}: no answer within {timeout:g} s") from None
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode == _NO_PYTHON:
        reason = sanitize_line(ssh_failure(stderr, server, result.returncode))
        raise NbtuiError(
            f"{server} could not run python3 ({reason.removeprefix(f'ssh to {server} failed: ')}"
            "): nbtui runs a short python3 script there to find the connection files"
        )
    if result.returncode == 255:
        raise NbtuiError(ssh_failure(stderr, server, result.returncode))
    try:
        answer = json.loads(result.stdout)
        folder = str(answer["dir"])
        raw_files = list(answer["files"])
    except (ValueError, KeyError, TypeError):
        reason = sanitize_line(ssh_failure(stderr, server, result.returncode))
        raise NbtuiError(
            f"could not read the connection files on {server}: "
            f"{reason.removeprefix(f'ssh to {server} failed: ')}"
        ) from None
    files = [f for f in (_parse_file(raw, server) for raw in raw_files) if f is not None]
    files.sort(key=lambda f: f.mtime, reverse=True)
    return RemoteListing(server=server, runtime_dir=sanitize_line(folder), files=files)


def choose(listing: RemoteListing, name: str = "") -> tuple[RemoteFile, list[RemoteFile]]:
    """The newest live connection file (among those whose names contain `name`, or match
    it as a glob).

    Returns:
        The chosen file, and the other live files that matched too (newest first).

    Raises:
        NbtuiError: No file, no match, or no live kernel among the matches.
    """
    where = f"{listing.runtime_dir} on {listing.server}"
    if not listing.files:
        raise NbtuiError(f"no kernel connection files in {where}")
    matches = listing.files
    if name:
        pattern = name if any(char in name for char in "*?[") else f"*{name}*"
        matches = [f for f in listing.files if fnmatch(f.name, pattern)]
        if not matches:
            raise NbtuiError(
                f"no connection file matching {name!r} in {where} "
                f"(nbtui --ssh {listing.server} --list shows them)"
            )
    live = [f for f in matches if f.info is not None and f.alive is not False]
    if not live:
        raise NbtuiError(
            f"no live kernel: the {len(matches)} matching connection file(s) in {where} "
            "are stale or invalid"
        )
    return live[0], live[1:]
