"""Shared fixtures: real ipykernel kernels on loopback, and a host kept out of the tests."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file


@pytest.fixture(autouse=True)
def isolated_jupyter(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own runtime dir and IPython profile: the host's kernels,
    history and config never leak in, and tests never leave files behind."""
    root = tmp_path_factory.mktemp("jupyter")
    runtime = root / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return runtime


def start_kernel(connection_file: Path | None = None) -> KernelManager:
    """Start a real ipykernel and wait until it answers on shell."""
    km = KernelManager(kernel_name="python3")
    if connection_file is not None:
        km.connection_file = str(connection_file)
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client: BlockingKernelClient = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
    finally:
        client.stop_channels()
    return km


@pytest.fixture
def kernel(isolated_jupyter: Path) -> Iterator[KernelManager]:
    """A fresh kernel whose connection file lies in the test's runtime dir."""
    km = start_kernel()
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def nbtui_script() -> str:
    """The console script installed beside this Python, else the one on PATH."""
    script = Path(sysconfig.get_path("scripts")) / "nbtui"
    if script.is_file():
        return str(script)
    found = shutil.which("nbtui")
    if found is None:
        pytest.fail("the nbtui console script is not installed: pip install -e '.[test]'")
    return found


@pytest.fixture
async def client(kernel: KernelManager) -> AsyncIterator[KernelClient]:
    """nbtui's own kernel client, attached to the `kernel` fixture, closed afterwards."""
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)), username="tester")
    try:
        await kc.attach()
        yield kc
    finally:
        await kc.close()


def wait_for(predicate: object, timeout: float = 15.0, interval: float = 0.05) -> None:
    """Wait for a condition with a deadline: no bare sleeps in tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
