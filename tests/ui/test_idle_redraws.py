"""An idle kernel's probes bring new readings that say nothing new: the real console on a
scripted kernel redraws no pane and no status line for them, and redraws the row of a
figure that moved by a step."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textual.geometry import Region
from textual.widget import Widget

from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.kernel.usage import HostMemory, UsageSnapshot
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.resource_pane import ResourcePane
from nbtui.widgets.status import StatusBar
from tests.fakes import scripted_client
from tests.ui.conftest import until

MIB = 1 << 20
GIB = 1 << 30


@contextmanager
def refreshes(*widgets: Widget) -> Iterator[dict[str, list[tuple[Region, ...]]]]:
    """Record each `refresh` of `widgets` (its regions; () for the whole widget), by class."""
    calls: dict[str, list[tuple[Region, ...]]] = {type(w).__name__: [] for w in widgets}
    for widget in widgets:
        original = widget.refresh

        def spy(
            *regions: Region,
            _original: Any = original,
            _name: str = type(widget).__name__,
            **kwargs: Any,
        ) -> Widget:
            calls[_name].append(regions)
            return _original(*regions, **kwargs)

        widget.refresh = spy  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        for widget in widgets:
            del widget.refresh


def beats(*rtts: float) -> dict[str, Any]:
    return {"hb_rtt": rtts[-1], "hb_history": rtts}


def idle_usage(at: float, **changes: Any) -> UsageSnapshot:
    """An idle kernel of about 52 MiB on a host with 23.5 GiB."""
    fields: dict[str, Any] = {
        "source": "kernel",
        "at": at,
        "hostname": "box",
        "pid": 4242,
        "kernel_cpu": 0.1,
        "kernel_memory": int(52.4 * MIB),
        "host_cpu_percent": 26.0,
        "cpu_count": 2,
        "host_memory": HostMemory(
            total=int(23.5 * GIB), available=int(22 * GIB), used=int(1.4 * GIB), percent=6.0
        ),
        "cpu_history": (0.0, 0.1, 0.2, 0.1),
        "memory_history": (52 * MIB, 52 * MIB + 300_000, 52 * MIB + 100_000),
        "memory_share": 0.002,
    }
    fields.update(changes)
    return UsageSnapshot(**fields)


async def show(pilot: Any, app: NbtuiApp, liveness: LivenessSnapshot, usage: UsageSnapshot) -> None:
    """Hand the session a probe's readings, as the monitor and poller do; wait till drawn."""
    app.session.liveness_changed(liveness)
    app.session.usage_changed(usage)
    await until(pilot, lambda: not app.session.undrawn)
    await pilot.pause()


async def test_probes_of_an_idle_kernel_redraw_nothing_until_a_figure_moves_a_step() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        session = app.session
        assert session.monitor is not None and session.poller is not None
        await session.monitor.stop()
        await session.poller.stop()
        now = session.clock()
        # Alive for 12 minutes: the clock shows "10 min" until 20 minutes.
        alive = LivenessSnapshot(
            state="alive",
            since=now - 720,
            control_latency=0.0014,
            **beats(0.0003, 0.0004, 0.0002, 0.0005, 0.0003),
        )
        first = idle_usage(now)
        await show(pilot, app, alive, first)
        liveness_pane, resources = app.query_one(LivenessPane), app.query_one(ResourcePane)
        status = app.query_one(StatusBar)
        assert "mem 52 MiB" in status.summary and "hb <1 ms" in status.summary
        with refreshes(liveness_pane, resources, status) as calls:
            # The next probes: every reading moved, none by a step.
            for probe in range(1, 4):
                jittered = dataclasses.replace(
                    alive,
                    control_latency=0.0014 + probe * 0.0002,
                    **beats(*alive.hb_history, *(0.0002 + 0.0001 * k for k in range(probe))),
                )
                usage = idle_usage(
                    now + 30 * probe,
                    kernel_cpu=0.1 * probe,
                    # 52.6 and 52.4 MiB: "53" and "52" at whole MiB.
                    kernel_memory=int((52.4 + 0.2 * (probe % 2)) * MIB),
                    host_cpu_percent=26.0 + 2 * probe,
                    host_memory=HostMemory(
                        total=int(23.5 * GIB),
                        available=int(22 * GIB),
                        used=int(1.4 * GIB) + probe * 20 * MIB,
                        percent=6.0 + 0.3 * probe,
                    ),
                    cpu_history=(*first.cpu_history, *(0.1,) * probe),
                    memory_history=(*first.memory_history, *(52 * MIB,) * probe),
                )
                await show(pilot, app, jittered, usage)
            assert calls == {"LivenessPane": [], "ResourcePane": [], "StatusBar": []}
            assert "mem 52 MiB" in status.summary

            # The kernel's memory moved by a step (52 -> 60 MiB): its row alone, and the
            # status line's figure.
            grown = dataclasses.replace(
                usage, kernel_memory=60 * MIB, memory_history=(*usage.memory_history, 60 * MIB)
            )
            await show(pilot, app, jittered, grown)
            assert calls["ResourcePane"] == [(Region(0, 0, resources.size.width, 1),)]
            assert calls["StatusBar"] and "mem 60 MiB" in status.summary
            assert calls["LivenessPane"] == []

            # A control round trip of 0.2 s is shown at once, on its row.
            slow = dataclasses.replace(jittered, control_latency=0.2)
            await show(pilot, app, slow, grown)
            assert calls["LivenessPane"] == [(Region(0, 2, liveness_pane.size.width, 1),)]
            assert "control 0.2 s" in liveness_pane.render().plain
