"""The resource pane's GPU and limit lines and the liveness pane's post-mortem, in the
tiny app of test_panes.py."""

from __future__ import annotations

import dataclasses
import os

import pytest

from nbtui.app.kernel.gpu import NO_DRIVER, REMOTE, GpuDevice, GpuSampler, GpuSnapshot
from nbtui.app.kernel.limits import MemoryLimit
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.resource_pane import ResourcePane
from tests.ui.conftest import screen_text
from tests.ui.test_panes import GIB, PanesApp, liveness, usage

A100 = GpuDevice(
    index=0,
    name="A100",
    utilisation=87,
    memory_used=30 * GIB,
    memory_total=80 * GIB,
    kernel_memory=int(11.2 * GIB),
)


async def test_this_machine_without_a_gpu_says_so_in_one_line() -> None:
    # The real NVML bindings: here there is no driver (a GPU box skips this).
    gpu = GpuSampler().sample(os.getpid())
    if gpu.devices:
        pytest.skip("this machine has an NVIDIA GPU")
    app = PanesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(ResourcePane).update(usage(gpu=gpu))
        await pilot.pause()
        text = screen_text(app)
        assert NO_DRIVER in text
        assert text.count("GPU") == 1  # one line, nothing more


async def test_gpus_the_cgroup_limit_and_the_warnings() -> None:
    limit = MemoryLimit(limit=300 << 20, source="cgroup", cgroup="/jobs/x")
    two = GpuSnapshot(at=0.0, devices=(A100, dataclasses.replace(A100, index=1, kernel_memory=0)))
    app = PanesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(ResourcePane)
        pane.update(usage(memory_limit=limit, memory_share=0.85, memory_warning=True, gpu=two))
        await pilot.pause()
        text = screen_text(app)
        assert "limit cgroup /jobs/x 300 MiB · 85%" in text
        assert "⚠ kernel memory at 85% of its cgroup /jobs/x limit (warns above 80%)" in text
        assert "gpu 0 A100: 87 %, 30.0 GiB of 80.0 GiB, kernel 11.2 GiB" in text
        assert "gpu 1 A100: 87 %, 30.0 GiB of 80.0 GiB, kernel 0 B" in text
        assert pane.gpu_warning is None  # busy or just finished: no idle warning
        pane.update(usage(gpu=two), idle_for=2 * 3600)
        await pilot.pause()
        text = screen_text(app)
        assert "⚠ idle 2 h, holds 11.2 GiB of GPU 0" in text
        assert pane.has_class("-warning")
        pane.update(usage(gpu=GpuSnapshot(at=0.0, note=REMOTE)), idle_for=2 * 3600)
        await pilot.pause()
        text = screen_text(app)
        assert REMOTE in text and "idle" not in text
        assert not pane.has_class("-warning")


async def test_the_liveness_pane_says_why_the_kernel_died() -> None:
    app = PanesApp()
    cause = "killed by the out-of-memory killer (named in the kernel log): cgroup /x limit 300 MiB"
    async with app.run_test(size=(120, 30)) as pilot:
        pane = app.query_one(LivenessPane)
        pane.update(liveness("dead", detail="connection lost"), now=130.0, cause=cause)
        await pilot.pause()
        text = screen_text(app)
        assert "● dead" in text
        assert f"why {cause}" in text
        pane.update(liveness("alive"), now=130.0)
        await pilot.pause()
        assert "why " not in screen_text(app)
