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

import atexit
import contextlib
import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import IO

import zmq
from jupyter_client.ssh.tunnel import select_random_ports

from nbtui.app.kernel.connection import CHANNELS, ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError

__all__ = [
    "SSH_OPTIONS_ENV",
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
    """One ssh process forwarding the five kernel ports to loopback."""

    server: str
    """The ssh destination as given: `user@host[:port]` or an alias from the ssh config."""
    info: ConnectionInfo
    """The tunnelled copy: ip 127.0.0.1 and the local ports, path kept from the original."""
    process: subprocess.Popen[bytes]
    """The ssh process; nbtui holds its stdin, whose end ends the session."""
    _stderr: IO[bytes] | None = field(repr=False, default=None)

    @property
    def alive(self) -> bool:
        """The ssh process is still running (it exits when a forward or the login fails)."""
        return self.process.poll() is None

    def close(self) -> None:
        """Stop the ssh process; safe to call more than once."""
        atexit.unregister(self.close)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._stderr is not None:
            with contextlib.suppress(OSError):
                self._stderr.close()
            self._stderr = None


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
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the tunnel
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    except FileNotFoundError:
        stderr.close()
        raise NbtuiError("--ssh needs the OpenSSH client (ssh) on PATH") from None
    tunnelled = replace(info, ip="127.0.0.1", ports=local, tunnel=f"ssh {server}")
    tunnel = SshTunnel(server=server, info=tunnelled, process=process, _stderr=stderr)
    atexit.register(tunnel.close)
    deadline = time.monotonic() + timeout
    try:
        while True:
            code = process.poll()
            if code is not None:
                stderr.seek(0)
                text = stderr.read().decode("utf-8", "replace")
                raise NbtuiError(ssh_failure(text, server, code))
            left = deadline - time.monotonic()
            if left <= 0:
                raise NbtuiError(
                    f"ssh to {server}: the kernel's heartbeat did not answer through the "
                    f"tunnel within {timeout:g} s (is the kernel at {info.ip}:"
                    f"{info.ports['hb']} as seen from {parse_server(server)[0]}?)"
                )
            if _ping(tunnelled.url("hb"), min(0.5, left)):
                return tunnel
    except BaseException:
        tunnel.close()
        raise
