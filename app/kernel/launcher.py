"""Starting a kernel of our own, the only kind nbtui may ever shut down or restart."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.connection import ConnectionInfo, load_connection_file
from nbtui.app.kernel.errors import NbtuiError

__all__ = ["OwnKernel"]


class OwnKernel:
    """A kernel nbtui started, with its manager (for shutdown, restart and signals): an
    `OwnedKernel` (`nbtui.app.kernel.target`)."""

    def __init__(self, manager: AsyncKernelManager, log_path: Path) -> None:
        self.manager = manager
        """jupyter_client's manager of the kernel process."""
        self.log_path = log_path
        """The kernel's own stdout and stderr go here, never onto the full-screen UI."""
        self._target: ConnectionInfo | None = None

    @property
    def connection_file(self) -> Path:
        """The connection file the manager wrote, in the Jupyter runtime dir."""
        return Path(self.manager.connection_file)

    @property
    def target(self) -> ConnectionInfo:
        """The connection file, read and validated once.

        Raises:
            NbtuiError: The file cannot be read or is not valid.
        """
        if self._target is None:
            self._target = load_connection_file(self.connection_file)
        return self._target

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
        """By signal (or message, as the kernelspec says), through the manager."""
        await self.manager.interrupt_kernel()

    async def restart(self) -> None:
        """On the same ports, through the manager."""
        await self.manager.restart_kernel(now=False)

    async def shutdown(self) -> None:
        """Ask the kernel to shut down (or clean up after a dead one), and drop its log."""
        if await self.manager.is_alive():
            await self.manager.shutdown_kernel(now=False)
        else:
            self.manager.cleanup_resources()
        self.log_path.unlink(missing_ok=True)
