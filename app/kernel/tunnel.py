"""SSH tunnels to a kernel on another machine, as `jupyter console --ssh` makes them.

jupyter_client's `tunnel_to_kernel` forwards the five ports with `ssh -f ... sleep 60`
through pexpect: ssh forks into the background (so its pid is unknown and it cannot be
stopped on quit), asks for a password on a pseudo-terminal when the key is refused (a
hang with no one to answer), and reports every failure as "tunnel failed to start".
So the same forwarding (`-S none -L 127.0.0.1:LOCAL:KERNEL_IP:REMOTE`, local ports from
jupyter_client's `select_random_ports`) is done here by one ssh process for all five
ports that nbtui owns: BatchMode so it never prompts, ConnectTimeout so an unreachable
host fails fast, ExitOnForwardFailure so a refused forward is an error, and the tunnel
counts as up only once the kernel's heartbeat answers through it.

Everything here blocks: the caller runs `open_tunnel` in a worker thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from typing import IO

import zmq
from jupyter_client.ssh.tunnel import select_random_ports

from nbtui.app.kernel.connection import CHANNELS, ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.transports.reconnect import Restored

__all__ = [
    "SSH_OPTIONS_ENV",
    "SshLink",
    "SshTunnel",
    "open_tunnel",
    "parse_server",
    "ssh_base",
    "ssh_failure",
]

SSH_OPTIONS_ENV = "NBTUI_SSH_OPTIONS"
"""Extra ssh arguments, split like a shell would (e.g. "-o StrictHostKeyChecking=no")."""

_BASE_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=3",
    "-S",
    "none",
)


def parse_server(server: str) -> tuple[str, int | None]:
    """Split `user@host[:port]` into the ssh destination and the port.

    Raises:
        NbtuiError: When the port is not a number in range or the host is missing.
    """
    user, at, host = server.rpartition("@")
    text: str | None = None
    if host.startswith("[") and "]" in host:
        # [::1]:2222, the bracketed IPv6 form.
        host, _, rest = host[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise NbtuiError(f"--ssh {server}: expected user@host[:port]")
        text = rest[1:] if rest else None
    elif host.count(":") == 1:
        host, _, text = host.partition(":")
    # More than one colon and no brackets: a bare IPv6 address, no port.
    port = None
    if text is not None:
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise NbtuiError(f"--ssh {server}: the port is not a number from 1 to 65535")
        port = int(text)
    destination = f"{user}{at}{host}"
    if not host:
        raise NbtuiError(f"--ssh {server}: no host (expected user@host[:port])")
    return destination, port


def _ping(url: str, timeout: float) -> bool:
    """One heartbeat round trip through `url` within `timeout` seconds."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    socket = context.socket(zmq.REQ)
    socket.linger = 0
    try:
        socket.connect(url)
        socket.send(b"nbtui-tunnel-check")
        return bool(socket.poll(int(timeout * 1000)))
    finally:
        socket.close(linger=0)


def ssh_failure(stderr: str, server: str, code: int | None) -> str:
    """ssh's own reason, one line: the last line that is not a warning."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith("Warning:")]
    reason = reasons[-1] if reasons else f"ssh exited with status {code}"
    if reason.startswith("ssh: "):
        reason = reason[len("ssh: ") :]
    if "Host key verification failed" in reason:
        reason += " (connect once with plain ssh to check and accept the host's key)"
    elif "Permission denied" in reason:
        reason += " (nbtui logs in with keys only, never a password: --sshkey FILE or ssh-agent)"
    return f"ssh to {server} failed: {reason}"


@dataclass
class SshTunnel:
    """One ssh process forwarding the five kernel ports to loopback; restartable on the
    same local ports, so the sockets connected to them reconnect by themselves."""

    server: str
    """The ssh destination as given: `user@host[:port]` or an alias from the ssh config."""
    info: ConnectionInfo
    """The tunnelled copy: ip 127.0.0.1 and the local ports, path kept from the original."""
    process: subprocess.Popen[bytes]
    """The ssh process; nbtui holds its stdin, whose end ends the session."""
    origin: ConnectionInfo | None = None
    """The kernel's connection as seen from the ssh server (what a restart forwards to)."""
    keyfile: str | None = None
    """The private key to log in with, if one was given."""
    closed: bool = False
    """`close()` was called: the tunnel is not to come back."""
    _stderr: IO[bytes] | None = field(repr=False, default=None)
    _lock: threading.Lock = field(repr=False, default_factory=threading.Lock)

    @property
    def alive(self) -> bool:
        """The ssh process is still running (it exits when a forward or the login fails)."""
        return self.process.poll() is None

    def stderr_text(self) -> str:
        """What the current ssh process has said on stderr so far."""
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")
        return ""

    def exit_reason(self) -> str:
        """Why the ssh process ended, in a few words (ssh's own, when it said one)."""
        code = self.process.poll()
        said = ssh_failure(self.stderr_text(), self.server, code)
        if code is not None and code < 0:
            return f"the ssh tunnel to {self.server} was killed (signal {-code})"
        return said.replace(f"ssh to {self.server} failed: ", f"the ssh tunnel to {self.server}: ")

    def close(self) -> None:
        """Stop the ssh process; safe to call more than once."""
        atexit.unregister(self.close)
        with self._lock:
            self.closed = True
            _stop(self.process)
            if self._stderr is not None:
                with contextlib.suppress(OSError):
                    self._stderr.close()
                self._stderr = None

    def restart(self, timeout: float = 8.0) -> Restored:
        """Start ssh again after it exited, forwarding the same local ports; blocks.

        Returns:
            "up" when the kernel's heartbeat answers through it within `timeout`,
            "refused" when ssh says the kernel's port refused the connection, else
            "silent".

        Raises:
            NbtuiError: ssh exited (unreachable, refused login, a local port taken) or
                the tunnel was closed.
        """
        if self.origin is None:
            raise NbtuiError("this tunnel cannot be restarted (no kernel connection kept)")
        with self._lock:
            if self.closed:
                raise NbtuiError("the tunnel is closed")
            _stop(self.process)
            if self._stderr is not None:
                with contextlib.suppress(OSError):
                    self._stderr.close()
            command = ssh_command(self.origin, self.server, self.info.ports, self.keyfile)
            self.process, self._stderr = _spawn(command)
        try:
            found = _wait_ready(self, timeout)
        except NbtuiError:
            _stop(self.process)
            raise
        if found == "silent" and (
            "connect failed" in self.stderr_text() or _forward_refused(self.info.ports["hb"])
        ):
            # ssh reached the server, and the kernel's address refused it there.
            return "refused"
        return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    if process.stdout is not None:
        with contextlib.suppress(OSError):
            process.stdout.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _spawn(command: list[str]) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Start ssh: its stdin held (its end ends the session), its stdout a pipe whose end
    tells that it exited, its stderr kept for its reasons."""
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the tunnel
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
    except FileNotFoundError:
        stderr.close()
        raise NbtuiError("--ssh needs the OpenSSH client (ssh) on PATH") from None
    return process, stderr


def _wait_ready(tunnel: SshTunnel, timeout: float) -> Restored:
    """Wait until the heartbeat answers through the tunnel ("up") or `timeout` passes
    ("silent").

    Raises:
        NbtuiError: ssh exited, with its reason.
    """
    deadline = time.monotonic() + timeout
    url = tunnel.info.url("hb")
    while True:
        code = tunnel.process.poll()
        if code is not None:
            raise NbtuiError(ssh_failure(tunnel.stderr_text(), tunnel.server, code))
        left = deadline - time.monotonic()
        if left <= 0:
            if not _listening(tunnel.info.ports["hb"]):
                # ssh has not even forwarded yet: still connecting or logging in.
                raise NbtuiError(f"ssh to {tunnel.server}: no tunnel within {timeout:g} s")
            return "silent"
        if _ping(url, min(0.5, left)):
            return "up"


def _forward_refused(port: int, timeout: float = 2.0) -> bool:
    """Whether ssh closes a connection to its forward of `port` at once, which it does
    when the far end refuses it (nothing listens there any more). A live kernel's
    ZeroMQ socket greets first instead; a hung one says nothing (then: False)."""
    with socket.socket() as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(("127.0.0.1", port))
            return probe.recv(16) == b""
        except TimeoutError:
            return False
        except OSError:
            return True  # reset: refused as well


def _listening(port: int) -> bool:
    """Whether something (ssh's forward) accepts connections on loopback `port`."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class SshLink:
    """The `Link` of an ssh tunnel: down when the ssh process exits, restored by
    starting it again on the same local ports.

    Args:
        tunnel: The tunnel.
        restore_timeout: Seconds a restarted tunnel has to carry a heartbeat.
    """

    replays = False
    """iopub does not replay: what the kernel published during the gap is lost."""

    def __init__(self, tunnel: SshTunnel, restore_timeout: float = 8.0) -> None:
        self.tunnel = tunnel
        self.restore_timeout = restore_timeout
        self.what = f"the ssh tunnel to {tunnel.server}"
        self._closed = False

    @property
    def up(self) -> bool:
        """The ssh process runs."""
        return self.tunnel.alive

    async def wait_down(self) -> str | None:
        """Wait until the ssh process exits (its stdout pipe ends: no thread, no poll);
        why it did, or None once the tunnel or this link is closed."""
        process = self.tunnel.process
        if process.stdout is not None and not process.stdout.closed:
            await _until_eof(process.stdout.fileno())
        else:
            await asyncio.to_thread(process.wait)
        if self._ended():
            return None
        await asyncio.to_thread(process.wait)  # it has closed its stdout: it is ending
        if self._ended():
            return None
        return self.tunnel.exit_reason()

    def _ended(self) -> bool:
        """This link or its tunnel was closed: an exit is nobody's news."""
        return self._closed or self.tunnel.closed

    async def restore(self) -> Restored:
        """Start ssh again (in a worker thread: it blocks until the heartbeat answers).

        Raises:
            NbtuiError: ssh exited again, or the tunnel was closed.
        """
        if self._closed:
            raise NbtuiError("the tunnel is closed")
        return await asyncio.to_thread(self.tunnel.restart, self.restore_timeout)

    def close(self) -> None:
        """Stop watching; the tunnel is its owner's to close."""
        self._closed = True


async def _until_eof(fd: int) -> None:
    """Wait until `fd` (a pipe nobody writes to) reaches its end or fails."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data and not ended.done():
            ended.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ended
    finally:
        loop.remove_reader(fd)


def ssh_base(server: str, keyfile: str | None = None) -> list[str]:
    """`ssh` with nbtui's options for `server`: never prompts, fails fast, key login only
    (the destination and the remote command come after)."""
    port = parse_server(server)[1]
    command = ["ssh", *_BASE_OPTIONS]
    if keyfile:
        command += ["-i", keyfile, "-o", "IdentitiesOnly=yes"]
    if port is not None:
        command += ["-p", str(port)]
    command += shlex.split(os.environ.get(SSH_OPTIONS_ENV, ""))
    return command


def ssh_command(
    info: ConnectionInfo, server: str, local: dict[str, int], keyfile: str | None = None
) -> list[str]:
    """The ssh command line forwarding each of `local` to the kernel's port."""
    command = ssh_base(server, keyfile)
    destination = parse_server(server)[0]
    for channel in CHANNELS:
        command += ["-L", f"127.0.0.1:{local[channel]}:{info.ip}:{info.ports[channel]}"]
    # Not -N: a remote command that ends when ssh's stdin does. nbtui holds the other end
    # of that pipe, so if nbtui dies without closing the tunnel (SIGKILL, a lost terminal)
    # the session ends, and ssh with it once nbtui's forwarded connections have closed.
    command += ["--", destination, "cat >/dev/null"]
    return command


def open_tunnel(
    info: ConnectionInfo, server: str, keyfile: str | None = None, timeout: float = 12.0
) -> SshTunnel:
    """Forward the kernel's ports over ssh and wait until its heartbeat answers.

    Args:
        info: The kernel's connection, with the ip as seen from the ssh server.
        server: `user@host[:port]`, or an alias from the ssh config.
        keyfile: A private key to log in with.
        timeout: Seconds until the tunnel must carry a heartbeat.

    Returns:
        The running tunnel; `close()` it on exit.

    Raises:
        NbtuiError: One line naming the reason (ssh's own message when it has one).
    """
    if info.transport != "tcp":
        raise NbtuiError(f"--ssh needs a tcp kernel; this one uses {info.transport}")
    if keyfile is not None and not os.path.isfile(keyfile):
        raise NbtuiError(f"--sshkey {keyfile}: no such file")
    local = dict(zip(CHANNELS, select_random_ports(len(CHANNELS)), strict=True))
    command = ssh_command(info, server, local, keyfile)
    process, stderr = _spawn(command)
    tunnelled = replace(info, ip="127.0.0.1", ports=local, tunnel=f"ssh {server}")
    tunnel = SshTunnel(
        server=server,
        info=tunnelled,
        process=process,
        origin=info,
        keyfile=keyfile,
        _stderr=stderr,
    )
    atexit.register(tunnel.close)
    try:
        if _wait_ready(tunnel, timeout) == "silent":
            raise NbtuiError(
                f"ssh to {server}: the kernel's heartbeat did not answer through the "
                f"tunnel within {timeout:g} s (is the kernel at {info.ip}:"
                f"{info.ports['hb']} as seen from {parse_server(server)[0]}?)"
            )
    except BaseException:
        tunnel.close()
        raise
    return tunnel
