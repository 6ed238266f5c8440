"""A kernel nbtui started: F9 restarts it, also after it died."""

from __future__ import annotations

import os
import signal

from nbtui.app.kernel.launcher import OwnKernel


async def test_restart_after_the_kernel_died() -> None:
    own = await OwnKernel.start()
    try:
        process = own.manager.provisioner.process  # type: ignore[union-attr]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert not await own.manager.is_alive()
        await own.restart()
        assert await own.manager.is_alive()
        assert own.manager.provisioner.process.pid != process.pid  # type: ignore[union-attr]
    finally:
        await own.shutdown()
