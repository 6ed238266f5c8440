"""Megabytes of output in one message from a real ipykernel: decoded in pieces, handed
to the frames a few MB at a time, and nothing lost or reordered (issue 19)."""

from __future__ import annotations

import asyncio
import time

import pytest

from nbtui.app.kernel.client import DRAIN_CHARS, KernelClient
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.transports import zeromq


async def test_an_unflushed_cell_of_megabyte_lines_arrives_whole_in_bounded_drains(
    client: KernelClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    split: list[int] = []
    uncopied: list[bool] = []
    real = zeromq.stream_pieces

    def counting(content: bytes | memoryview) -> object:
        split.append(len(content))
        uncopied.append(isinstance(content, memoryview))
        return real(content)

    monkeypatch.setattr(zeromq, "stream_pieces", counting)
    # Unflushed, ipykernel sends these 8 lines of 1 MB (with a character that JSON
    # escapes, and one it does not) as one or two messages of several MB.
    code = "line = 'é\\\\' + 'x' * 999_997\nfor n in range(8):\n    print(n, line)"
    expected = "".join(f"{n} é\\{'x' * 999_997}\n" for n in range(8))
    msg_id = client.execute(code)
    drained: list[list[Msg]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch = client.drain()
        drained.append(batch)
        if any(
            msg.msg_type == "status"
            and msg.parent_id == msg_id
            and msg.content.get("execution_state") == "idle"
            for msg in batch
        ):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the cell did not end")
    streams = [
        [msg for msg in batch if msg.msg_type == "stream" and msg.parent_id == msg_id]
        for batch in drained
    ]
    assert "".join(str(msg.content["text"]) for batch in streams for msg in batch) == expected
    assert split, "no message was big enough to be decoded in pieces"
    # The pump kept the parts of several MB as libzmq received them: no copy holding the GIL.
    assert any(uncopied), split
    # No drain hands a frame much more than DRAIN_CHARS of text to lay out.
    most = max(sum(len(msg.content["text"]) for msg in batch) for batch in streams)
    assert most <= DRAIN_CHARS + (2 << 20)
