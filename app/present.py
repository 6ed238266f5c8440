"""How nbtui words what the kernel layer finds: sizes, ages, GPUs, memory (the `--list`
tables are in `nbtui.app.present_tables`).

The kernel layer (`nbtui.app.kernel`) hands out numbers and records; every string a
person reads about them is made here, so the CLI, the picker screens and the panes
say the same thing the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from nbtui.app.kernel.discovery import runtime_dir
from nbtui.app.kernel.gpu import GpuDevice, GpuSnapshot
from nbtui.app.kernel.units import format_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nbtui.app.kernel.queue import Waiting
    from nbtui.app.kernel.usage import UsageSnapshot

HOUR = 3600
DAY = 24 * HOUR

_Figure = TypeVar("_Figure", int, float)

MEMORY_BAND = 0.03
"""A size (the kernel's memory, the host's, a GPU's) is shown anew when it moved more
than this share from the size shown: an idle kernel's 52 <-> 53 MiB redraws nothing."""
CPU_BAND = 5.0
"""Percentage points the kernel's CPU moves before it is shown anew (an idle kernel reads
0.0-0.3%, a busy one 97-100%)."""
HOST_CPU_BAND = 10.0
"""Percentage points the host's CPU (and a GPU's utilisation) moves before it is shown
anew: on a shared machine it wanders by several points from one probe to the next."""

__all__ = [
    "CPU_BAND",
    "HOST_CPU_BAND",
    "MEMORY_BAND",
    "SteadyFigures",
    "SteadyLatency",
    "display_name",
    "format_ago",
    "format_bytes",
    "format_duration",
    "format_elapsed",
    "format_latency",
    "format_timestamp_ago",
    "gpu_column",
    "gpu_device_line",
    "gpu_lines",
    "idle_holder_warning",
    "memory_limit_line",
    "memory_warning_line",
    "steady_usage",
    "waiting_text",
]


def format_duration(seconds: float, *, coarse: bool = False) -> str:
    """A span of time, in whole units: the one way nbtui writes an age or a duration.

    At most two units, the larger first, each rounded down: what is shown has always
    been reached, and it changes at most once a minute past the first minute.

    Args:
        seconds: The span; negative counts as 0.
        coarse: One unit, in steps that grow with the span (minutes up to ten, then
            tens of minutes, hours, days): for a pane that stands still while the
            kernel is idle, whose clock must not redraw it every minute for hours.

    Returns:
        For example `12 s`, `4 min`, `3 h 5 min`, `3 h`, `2 d 7 h`; coarse `4 min`,
        `20 min`, `3 h`, `2 d`.
    """
    whole = int(max(0.0, seconds))
    if coarse:
        if whole >= DAY:
            return f"{whole // DAY} d"
        if whole >= HOUR:
            return f"{whole // HOUR} h"
        if whole >= 600:
            return f"{whole // 600 * 10} min"
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_ago(seconds: float, *, now_below: float = 0.0, coarse: bool = False) -> str:
    """How long ago something happened (see `format_duration`).

    Args:
        seconds: How long ago; negative counts as 0.
        now_below: Under this many seconds say `now`: for a view redrawn too rarely
            for its seconds to be true.
        coarse: `<1 min ago` under a minute, then `format_duration`'s coarse steps:
            for a pane redrawn only when what it shows moves.

    Returns:
        For example `12 s ago`, `3 h 5 min ago`, or `now`; coarse `<1 min ago`, `3 h ago`.
    """
    if seconds < now_below:
        return "now"
    if coarse and seconds < 60:
        return "<1 min ago"
    return f"{format_duration(seconds, coarse=coarse)} ago"


def format_elapsed(seconds: float) -> str:
    """How long something has been running, for a clock that ticks every second.

    Tenths under a minute, then seconds always: a running clock has to be seen to move.

    Args:
        seconds: Since the start; negative counts as 0.

    Returns:
        For example `4.2 s`, `2 min 5 s`, `1 h 2 min 5 s`.
    """
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {rest} s"


def format_latency(seconds: float | None, *, coarse: bool = False) -> str:
    """A round trip (heartbeat, control request): milliseconds, unlike an age.

    Args:
        seconds: The round trip, or None when unknown.
        coarse: In steps (`<1 ms`, `<10 ms`, `<100 ms`, then tenths of a second), for a
            one-line summary that must not redraw with every beat's jitter.

    Returns:
        For example `0.1 ms`, `12 ms`, `1.4 s`; `-` when unknown.
    """
    if seconds is None:
        return "-"
    if coarse:
        for step in (0.001, 0.01, 0.1):
            if seconds < step:
                return f"<{step * 1000:.0f} ms"
        return f"{seconds:.1f} s"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


class SteadyLatency:
    """A round trip in coarse steps (`format_latency(coarse=True)`) that do not flap.

    A figure that changes with every beat redraws whatever shows it with every beat: on
    a loaded machine the round trip crosses 1 ms or 10 ms from beat to beat, and even the
    median of the last few flips between `<1 ms` and `<10 ms`. So the step shown changes
    only when the last `agree` round trips all fall in one other step; a round trip of
    NOTABLE or more (a kernel that is really slow to answer) shows at once.
    """

    NOTABLE = 0.1
    """Seconds: a median round trip this long is shown at once, in tenths of a second."""
    MEDIAN_OF = 5
    """By default the figure is the median of this many last round trips."""

    def __init__(self, agree: int = 3, median_of: int = MEDIAN_OF) -> None:
        self.agree = agree
        """Round trips in a row in another step before the shown step changes."""
        self.median_of = median_of
        """The figure is the median of this many last round trips (1: the last one, for
        probes rare enough that one slow answer is worth showing)."""
        self.shown: str | None = None
        """The step on screen (`<1 ms`), None before the first round trip."""

    def figure(self, history: Sequence[float]) -> str:
        """The step to show for the round trips `history` (oldest first, not empty)."""
        recent = sorted(history[-self.median_of :])
        median = recent[len(recent) // 2]
        wanted = format_latency(median, coarse=True)
        if self.shown is None or median >= self.NOTABLE:
            self.shown = wanted
            return wanted
        last = {format_latency(rtt, coarse=True) for rtt in history[-self.agree :]}
        if len(history) >= self.agree and last == {wanted} and wanted != self.shown:
            self.shown = wanted
        return self.shown


class SteadyFigures:
    """Figures that keep the value shown until a new reading leaves a band around it.

    A usage probe brings new figures every 30 s even from an idle kernel: its memory
    moves between 52 and 53 MiB, the host's CPU by a few points. Shown as read, each
    probe redraws the pane and the status line for nothing a person would act on. Each
    figure (by name) keeps the value last shown while a reading stays within `absolute`
    of it, or within `relative` of it as a share; a reading outside the band is shown
    and becomes the new centre.
    """

    def __init__(self) -> None:
        self._shown: dict[str, float] = {}

    def value(
        self, name: str, reading: _Figure | None, *, absolute: float = 0.0, relative: float = 0.0
    ) -> _Figure | None:
        """The value to show for figure `name` given its new `reading` (None: unknown,
        shown at once)."""
        if reading is None:
            self._shown.pop(name, None)
            return None
        shown = self._shown.get(name)
        if shown is not None and abs(reading - shown) <= max(absolute, relative * abs(shown)):
            return type(reading)(shown)
        self._shown[name] = reading
        return reading


def steady_usage(snapshot: UsageSnapshot, steady: SteadyFigures) -> UsageSnapshot:
    """`snapshot` with each figure held at the value shown until it moves past its band
    (`MEMORY_BAND`, `CPU_BAND`, `HOST_CPU_BAND`; the host's memory by `MEMORY_BAND` of
    the machine, the kernel's share of what it may hold by one point): what the resource
    pane draws, so an idle kernel's probes redraw nothing."""
    value = steady.value
    host = snapshot.host_memory
    if host is not None:
        # The host's memory moves with everything else the machine runs: it is shown
        # anew when it moved by a share of the machine, not of what is in use.
        machine = MEMORY_BAND * (host.total or 0)
        host = dataclasses.replace(
            host,
            used=value("host memory", host.used, absolute=machine, relative=MEMORY_BAND),
            percent=value("host memory %", host.percent, absolute=100 * MEMORY_BAND),
        )
    gpu = snapshot.gpu
    if gpu is not None and gpu.devices:
        devices = tuple(
            dataclasses.replace(
                device,
                utilisation=value(
                    f"gpu {device.index}", device.utilisation, absolute=HOST_CPU_BAND
                ),
                memory_used=value(
                    f"gpu {device.index} memory", device.memory_used, relative=MEMORY_BAND
                ),
                kernel_memory=value(
                    f"gpu {device.index} kernel", device.kernel_memory, relative=MEMORY_BAND
                ),
            )
            for device in gpu.devices
        )
        gpu = dataclasses.replace(gpu, devices=devices)
    return dataclasses.replace(
        snapshot,
        kernel_cpu=value("kernel cpu", snapshot.kernel_cpu, absolute=CPU_BAND),
        kernel_memory=value("kernel memory", snapshot.kernel_memory, relative=MEMORY_BAND),
        host_cpu_percent=value("host cpu", snapshot.host_cpu_percent, absolute=HOST_CPU_BAND),
        memory_share=value("memory share", snapshot.memory_share, absolute=0.01),
        host_memory=host,
        gpu=gpu,
    )


def display_name(path: Path, runtime: Path | None = None) -> str:
    """How a connection file is named to the user.

    Args:
        path: The connection file.
        runtime: The Jupyter runtime dir; the real one by default.

    Returns:
        The file name for a file in the runtime dir, else the full path.
    """
    runtime = runtime_dir() if runtime is None else runtime
    with contextlib.suppress(OSError):
        if path.parent.resolve() == runtime.resolve():
            return path.name
    return str(path)


def format_timestamp_ago(stamp: str, now: float | None = None) -> str:
    """How long ago a Jupyter Server's time stamp was (see `format_ago`).

    Args:
        stamp: An ISO 8601 time as the server writes it (`2026-01-01T00:00:00.000000Z`).
        now: The current `time.time()`; now by default.

    Returns:
        For example `12 s ago`; the stamp itself if it cannot be read, `-` if empty.
    """
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return stamp or "-"
    return format_ago((time.time() if now is None else now) - then)


def waiting_text(waiting: Waiting, now: float) -> str:
    """What a queued cell waits behind, for its line in the transcript.

    Args:
        waiting: The cell's place in the queue (`nbtui.app.kernel.queue`).
        now: `time.monotonic()`, for how long the running cell has run.

    Returns:
        For example `queued behind alice's In [12], running 4 min`, or
        `queued (2nd in line) behind your In [13], running 12 s`.
    """
    line = f" ({_ordinal(waiting.place)} in line)" if waiting.place > 1 else ""
    behind = waiting.behind
    if behind is None:
        return f"queued{line}: the kernel has not started it yet"
    who = "your" if behind.is_self else f"{behind.username}'s"
    count = behind.execution_count
    cell = f"In [{count}]" if count is not None else "cell"
    running = format_duration(now - (behind.started or now))
    return f"queued{line} behind {who} {cell}, running {running}"


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def gpu_device_line(device: GpuDevice) -> str:
    """One NVIDIA device in the resource pane.

    Returns:
        For example `GPU 0 A100: 87 %, 30.0 GiB of 80.0 GiB, kernel 11.2 GiB`; a figure
        the driver does not give is `?`, and the kernel's share may be "not visible".
    """
    parts = [f"{device.utilisation} %" if device.utilisation is not None else "? %"]
    if device.memory_used is not None and device.memory_total is not None:
        parts.append(f"{format_bytes(device.memory_used)} of {format_bytes(device.memory_total)}")
    if device.kernel_memory is not None:
        parts.append(f"kernel {format_bytes(device.kernel_memory)}")
    else:
        parts.append("kernel's share not visible")
    return f"GPU {device.index} {device.name}: {', '.join(parts)}"


def gpu_lines(snapshot: GpuSnapshot) -> list[str]:
    """The resource pane's GPU lines: one per device, or the one line saying why there
    are none (no driver, no device, a remote kernel)."""
    if not snapshot.devices:
        return [snapshot.note or "no NVIDIA GPU"]
    return [gpu_device_line(device) for device in snapshot.devices]


def gpu_column(snapshot: GpuSnapshot | None) -> str:
    """The `--list` GPU cell: GPU memory the kernel holds (all devices together).

    Returns:
        `2.1 GiB`; `0 B` when it holds none; `?` when its share cannot be seen; `-`
        where there is no GPU to speak of (no driver, a remote kernel): the line under
        the table says why.
    """
    if snapshot is None or not snapshot.devices:
        return "-"
    held = snapshot.kernel_memory
    return "?" if held is None else format_bytes(held)


def idle_holder_warning(
    idle_seconds: float | None,
    snapshot: GpuSnapshot | None,
    *,
    after: float = 1800.0,
    at_least: int = 256 << 20,
) -> str | None:
    """A kernel that has run nothing for a while but keeps GPU memory others could use.

    Args:
        idle_seconds: How long the kernel has run nothing (None: busy, or unknown).
        snapshot: The latest GPU sample.
        after: Idle seconds before the warning.
        at_least: Bytes held (on one device) before the warning.

    Returns:
        For example `idle 2 h, holds 11.2 GiB of GPU 0`; None when the kernel is busy,
        recently active, or holds little.
    """
    if idle_seconds is None or idle_seconds < after or snapshot is None:
        return None
    held = [
        f"{format_bytes(device.kernel_memory)} of GPU {device.index}"
        for device in snapshot.devices
        if device.kernel_memory is not None and device.kernel_memory >= at_least
    ]
    if not held:
        return None
    return f"idle {format_duration(idle_seconds)}, holds {' and '.join(held)}"


def _share_of(snapshot: UsageSnapshot) -> str:
    """What the memory share is counted against, for the pane's words."""
    limit = snapshot.memory_limit
    if limit is not None and limit.source == "cgroup":
        return f"its cgroup {limit.cgroup} limit"
    return "what the host can give it"


def memory_limit_line(snapshot: UsageSnapshot) -> str | None:
    """The resource pane's line about the limit the memory share is counted against.

    Returns:
        For example `limit cgroup /jobs/x 300 MiB · 45%` (the kernel's memory over its
        cgroup's limit), `limit host 23.5 GiB (no cgroup limit) · 6%` (its memory over
        itself plus what the host has available), `limit host memory (remote) · 6%` for
        a remote kernel, whose cgroup cannot be read from here; None when there is
        neither a limit nor a share.
    """
    limit = snapshot.memory_limit
    share = snapshot.memory_share
    at = f" · {share:.0%}" if share is not None else ""
    if limit is None:
        return f"limit host memory (remote){at}" if share is not None else None
    if limit.source == "cgroup":
        return f"limit cgroup {limit.cgroup} {format_bytes(limit.limit)}{at}"
    return f"limit host {format_bytes(limit.limit)} (no cgroup limit){at}"


def memory_warning_line(snapshot: UsageSnapshot, threshold: float) -> str | None:
    """The resource pane's warning when the kernel's memory passed `threshold`
    (`--memory-warn`) of what it may hold; None when it has not."""
    if not snapshot.memory_warning or snapshot.memory_share is None:
        return None
    return (
        f"⚠ kernel memory at {snapshot.memory_share:.0%} of {_share_of(snapshot)} "
        f"(warns above {threshold:.0%})"
    )
