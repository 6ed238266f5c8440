"""Starting a kernel of our own, the only kind nbtui may ever shut down or restart."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.errors import NbtuiError

__all__ = ["OwnKernel"]


class OwnKernel:
    """A kernel nbtui started, with its manager (for shutdown, restart and signals)."""

    def __init__(self, manager: AsyncKernelManager, log_path: Path) -> None:
        self.manager = manager
        self.log_path = log_path
        """The kernel's own stdout and stderr go here, never onto the full-screen UI."""

    @property
    def connection_file(self) -> Path:
        return Path(self.manager.connection_file)

    @classmethod
    async def start(cls, kernel_name: str = "python3") -> OwnKernel:
        """Start a kernel with its connection file in the Jupyter runtime dir.

        Raises:
            NbtuiError: Unknown kernel name, or the kernel failed to start.
        """
        manager = AsyncKernelManager(kernel_name=kernel_name)
        try:
            manager.kernel_spec  # noqa: B018 - resolving the spec is the check
        except NoSuchKernel:
            names = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
            raise NbtuiError(f"no kernel named {kernel_name!r} (installed: {names})") from None
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        # Where `--existing` and `jupyter console --existing` look, named as they expect.
        kernel_id = str(uuid.uuid4())
        manager.kernel_id = kernel_id
        manager.connection_file = str(runtime / f"kernel-{kernel_id}.json")
        log_path = runtime / f"nbtui-kernel-{kernel_id}.log"
        log = log_path.open("ab")
        try:
            await manager.start_kernel(
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        except Exception as error:  # noqa: BLE001 - any launch failure is one line for the user
            raise NbtuiError(f"could not start kernel {kernel_name!r}: {error}") from None
        finally:
            log.close()
        return cls(manager, log_path)

    async def interrupt(self) -> None:
        await self.manager.interrupt_kernel()

    async def restart(self) -> None:
        # The log file given at start was closed once the kernel had it: the manager
        # would launch the new process with that closed file (ValueError). A fresh one.
        log = self.log_path.open("ab")
        try:
            await self.manager.restart_kernel(
                now=False, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()

    async def shutdown(self) -> None:
        if await self.manager.is_alive():
            await self.manager.shutdown_kernel(now=False)
        else:
            self.manager.cleanup_resources()
        self.log_path.unlink(missing_ok=True)
