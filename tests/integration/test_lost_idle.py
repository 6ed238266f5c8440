"""A stalled SSH link loses a cell's idle, for real: the ssh process carrying the tunnel is
stopped (SIGSTOP, as a link that stalls) while the kernel floods iopub, so the kernel's
PUB socket drops what no longer fits, the idle last of all; a colleague attached directly
sees the idle go out. Then the link goes on: the cell must end, not stay running for good
(../shared/PROTOCOL.md, "iopub drops messages")."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from jupyter_client import BlockingKernelClient, KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.remote import choose, list_remote
from nbtui.app.kernel.session import KernelSession
from nbtui.app.kernel.tunnel import open_tunnel
from tests.integration.test_link_drop import drain_until, said
from tests.integration.test_ssh import SshServer, pytestmark, sshd
from tests.integration.test_ssh_remote import remote_dir, remote_kernel

__all__ = ["pytestmark", "remote_dir", "remote_kernel", "sshd"]

FLOOD = "for i in range(30_000): print(f'{i:06d} ' + 'x' * 200, flush=True)"
"""About 8 MB in 30,000 messages: far more than the PUB socket's 1,000 and the socket
buffers between it and the stopped ssh hold."""


def idle_seen(bob: BlockingKernelClient, msg_id: str, timeout: float) -> bool:
    """Whether the kernel published `msg_id`'s idle within `timeout` (bob reads iopub
    directly, not through the tunnel)."""
    while True:
        try:
            msg = bob.get_iopub_msg(timeout=timeout)
        except Exception:  # noqa: BLE001 - queue.Empty: nothing more within the timeout
            return False
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"].get("execution_state") == "idle"
        ):
            return True


async def test_a_cell_whose_idle_a_stalled_link_lost_still_ends(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path
) -> None:
    listing = await asyncio.to_thread(list_remote, sshd.address, str(sshd.key), str(remote_dir))
    found = choose(listing, "4a7c")[0].info
    assert found is not None
    tunnel = await asyncio.to_thread(open_tunnel, found, sshd.address, str(sshd.key))
    client = KernelClient(tunnel.info, username="tester")
    session = KernelSession(client)
    bob = remote_kernel.blocking_client()
    bob.start_channels()
    stopped = False
    try:
        await client.attach()
        session.attached()
        session.watch()
        await drain_until(lambda: session.state == "idle", session, 30)
        msg_id = session.execute(FLOOD)
        cell = session.model.cells[msg_id]
        await drain_until(lambda: cell.state == "running" and bool(cell.outputs), session, 30)
        os.kill(tunnel.process.pid, signal.SIGSTOP)
        stopped = True
        assert await asyncio.to_thread(idle_seen, bob, msg_id, 120)
        os.kill(tunnel.process.pid, signal.SIGCONT)
        stopped = False
        await drain_until(lambda: cell.state == "ok" and session.state == "idle", session, 60)
        assert cell.execution_count == 1
        lost = [text for text in said(session) if "iopub lost its end" in text]
        assert lost == [
            "your cell In [1] has ended, but iopub lost its end (a kernel drops messages "
            "for a client that falls behind): the last of its output may be missing"
        ]
        # And the kernel is free for the next cell, whose output all comes.
        following = session.model.cells[session.execute("print('after', 6 * 7)")]
        await drain_until(
            lambda: following.state == "ok" and "after 42" in str(following.outputs[0].text),
            session,
            30,
        )
    finally:
        if stopped:
            os.kill(tunnel.process.pid, signal.SIGCONT)
        await session.close()
        await client.close()
        tunnel.close()
        bob.stop_channels()
