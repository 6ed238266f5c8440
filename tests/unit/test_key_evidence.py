"""When an unanswered request is blamed on the key: only on current evidence (issue 13, 26a)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_client.session import Session

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.transports import Deliver, LinkWatch

PORTS = {"shell": 50001, "iopub": 50002, "stdin": 50003, "control": 50004, "hb": 50005}


class ScriptedTransport:
    """A transport whose messages and signature failures the test hands in."""

    kind = "scripted"

    def __init__(self) -> None:
        self.bad_signatures = 0
        self.malformed = 0
        self.problem = ""
        self._session = Session(key=b"k")
        self.deliver: Deliver | None = None

    @property
    def session(self) -> Session:
        return self._session

    async def connect(self, deliver: Deliver) -> None:
        self.deliver = deliver

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        pass

    async def ping(self, timeout: float) -> float | None:
        return 0.0001

    def watch_link(self) -> LinkWatch | None:
        return None

    async def interrupt(self) -> bool:
        return False

    async def close(self) -> None:
        pass

    def good(self) -> None:
        """A validly signed message arrives."""
        assert self.deliver is not None
        msg = self._session.msg("status", {"execution_state": "idle"})
        self.deliver("iopub", msg)

    def bad(self) -> None:
        """A message fails the signature check (the reader counts it and drops it)."""
        self.bad_signatures += 1


async def test_only_a_bad_signature_since_the_last_good_message_is_evidence() -> None:
    info = ConnectionInfo("tcp", "127.0.0.1", dict(PORTS), "k", "hmac-sha256", path=Path("k"))
    transport = ScriptedTransport()
    client = KernelClient(info, transport=transport)
    await transport.connect(client._deliver)
    assert not client.key_suspect
    transport.bad()
    assert client.key_suspect
    transport.good()
    # The bad one is history now: good messages came after it.
    assert client.bad_signatures == 1
    assert not client.key_suspect
    transport.bad()
    assert client.key_suspect


class SilentKernel(ScriptedTransport):
    """Answers the heartbeat, never a request; its iopub may carry others' messages."""

    def __init__(self, good: int = 0, bad: int = 0) -> None:
        super().__init__()
        self._good, self._bad = good, bad

    async def connect(self, deliver: Deliver) -> None:
        await super().connect(deliver)
        for _ in range(self._good):
            self.good()
        for _ in range(self._bad):
            self.bad()


async def attach_error(transport: ScriptedTransport) -> str:
    info = ConnectionInfo("tcp", "127.0.0.1", dict(PORTS), "k", "hmac-sha256", path=Path("k"))
    client = KernelClient(info, transport=transport)
    try:
        await client.attach(hb_timeout=1.0, reply_timeout=0.05)
    except NbtuiError as error:
        return str(error)
    finally:
        await client.close()
    raise AssertionError("attach succeeded")


async def test_attach_blames_the_key_only_without_a_good_message() -> None:
    assert "key is probably wrong" in await attach_error(SilentKernel())
    assert "key is probably wrong" in await attach_error(SilentKernel(bad=2))
    stuck = await attach_error(SilentKernel(good=2))
    assert "key" not in stuck.replace("signs with this key", "")
    assert "may be stuck" in stuck
