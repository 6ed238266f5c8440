"""Starting a kernel of our own, the only kind nbtui may ever shut down or restart."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.connection import ConnectionInfo, load_connection_file
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.postmortem import process_exit_status

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
        """Where the kernel's connection file is (in the Jupyter runtime dir)."""
        return Path(self.manager.connection_file)

    @property
    def session_id(self) -> str:
        """The kernel manager's session: its `shutdown_reply` is a restart nbtui asked."""
        return str(self.manager.session.session)

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
    async def start(cls, kernel_name: str = "python3", *, keep: bool = False) -> OwnKernel:
        """Start a kernel with its connection file in the Jupyter runtime dir.

        Args:
            kernel_name: The kernelspec to start.
            keep: The kernel is to outlive nbtui (`--keep-kernel`). jupyter_client
                otherwise hands the kernel nbtui's pid (`JPY_PARENT_PID`), and ipykernel
                exits within a second of that process going; a kernel that is not kept
                keeps that, so it cannot outlive an nbtui killed with -9.

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
        own = cls(manager, runtime / f"nbtui-kernel-{kernel_id}.log")
        try:
            with own._log() as log:
                await manager.start_kernel(
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, independent=keep
                )
        except Exception as error:  # noqa: BLE001 - any launch failure is one line for the user
            raise NbtuiError(f"could not start kernel {kernel_name!r}: {_reason(error)}") from None
        return own

    @contextlib.contextmanager
    def _log(self) -> Iterator[BinaryIO]:
        """The log, open only while a kernel process is being launched: the kernel keeps
        its own descriptor, and nbtui holds none."""
        with self.log_path.open("ab") as log:
            yield log

    def exit_status(self) -> int | None:
        """The kernel process's exit status once it died (negative: the signal that
        killed it), None while it runs: what the post-mortem says of a kernel of ours."""
        return process_exit_status(self.manager)

    async def may_be_starting(self) -> bool:
        """While its process lives: ipykernel binds its ports a while after it starts."""
        return bool(await self.manager.is_alive())

    async def interrupt(self) -> None:
        """Send the kernel SIGINT (its whole process group), as its owner may."""
        await self.manager.interrupt_kernel()

    async def restart(self) -> None:
        """Shut the kernel down and start it again on the same ports and connection file.

        Raises:
            NbtuiError: The restart failed; the kernel may be gone.
        """
        try:
            # jupyter_client relaunches with the arguments of the first start, whose log
            # file was closed once that kernel had it: the new kernel gets it opened anew.
            with self._log() as log:
                await self.manager.restart_kernel(now=False, stdout=log)
        except Exception as error:  # noqa: BLE001 - a failed restart is a notice, not a crash
            raise NbtuiError(_reason(error)) from None

    async def shutdown(self) -> None:
        """Shut the kernel down (or clean up after one that died): its connection file
        and log go too."""
        if await self.manager.is_alive():
            await self.manager.shutdown_kernel(now=False)
        else:
            # A kernel killed with -9 left its connection file behind.
            await self.manager.cleanup_resources()
        self.log_path.unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    """One line about a launch failure, whatever raised it."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
