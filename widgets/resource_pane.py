"""The resource pane: kernel CPU and memory with their history, the limit its memory is
counted against, the host's room, and the GPUs.

A warning line (component class `pane--warning`, CSS class `-warning` on the widget)
appears when the kernel holds more than the poller's threshold of what it could hold
(its cgroup's limit, else its memory plus the host's available memory): the
out-of-memory killer is near. Another warns of a kernel idle for a while that holds GPU
memory others could use.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from nbtui.app.kernel.usage import NOT_REPORTED, UsageSnapshot
from nbtui.app.present import (
    SteadyFigures,
    format_bytes,
    gpu_lines,
    idle_holder_warning,
    memory_limit_line,
    memory_warning_line,
    steady_usage,
)
from nbtui.widgets.rows_pane import RowsPane
from nbtui.widgets.spark import sparkline

__all__ = ["ResourcePane"]

_SOURCES = {"kernel": "usage_request", "psutil": "psutil (kernel silent)", "none": ""}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


class ResourcePane(RowsPane):
    """Kernel CPU/memory sparklines, its memory limit, host CPU and memory, the GPUs,
    pid and hostname.

    A figure is shown anew only when it moved past its band (`steady_usage`), the CPU's
    history is drawn against a whole CPU, and only the rows that changed are written
    (`RowsPane`): an idle kernel's probes every 30 s write nothing.
    """

    COMPONENT_CLASSES = {
        "pane--label",
        "pane--muted",
        "pane--spark",
        "pane--warning",
    }

    DEFAULT_CSS = """
    ResourcePane {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        threshold: float = 0.8,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._snapshot: UsageSnapshot | None = None
        self._steady = SteadyFigures()
        self._gpu_warning: str | None = None
        self.threshold = threshold
        """Shown in the warning; the poller decides when to warn."""

    @property
    def gpu_warning(self) -> str | None:
        """The idle-holder warning shown, if any."""
        return self._gpu_warning

    def update(self, snapshot: UsageSnapshot | None, *, idle_for: float | None = None) -> None:
        """Show the latest reading (None: nothing polled yet).

        Args:
            snapshot: The usage poller's latest reading.
            idle_for: Seconds the kernel has run nothing (None: busy or unknown), for the
                warning about idle GPU memory.
        """
        gpu = snapshot.gpu if snapshot is not None else None
        warning = idle_holder_warning(idle_for, gpu)
        self._snapshot = None if snapshot is None else steady_usage(snapshot, self._steady)
        self._gpu_warning = warning
        self.set_class(
            snapshot is not None and (snapshot.memory_warning or warning is not None), "-warning"
        )
        self.show_rows()

    def build_rows(self) -> list[Text]:
        """The kernel's cpu and memory with sparklines, the host's, where the kernel runs
        and how it was measured, and the memory warning when there is one."""
        snap = self._snapshot
        muted = self.get_component_rich_style("pane--muted", partial=True)
        label = self.get_component_rich_style("pane--label", partial=True)
        spark = self.get_component_rich_style("pane--spark", partial=True)
        if snap is None:
            return [Text("waiting for the first reading", style=muted)]
        if snap.source == "none" or (
            snap.kernel_memory is None and snap.kernel_cpu is None and snap.host_memory is None
        ):
            return [Text(snap.note or NOT_REPORTED, style=muted), *self._gpu_rows(label, muted)]
        room = max(0, min(16, (self.size.width - 24) // 2))
        ceiling = max((100.0, *snap.cpu_history[-room:])) if room else 100.0
        cpu = Text.assemble(
            ("kernel cpu ", label),
            # Against a whole CPU: an idle kernel's 0.0-0.3% is a flat line, not noise
            # stretched to full height.
            (sparkline(snap.cpu_history, room, floor=0.0, ceiling=ceiling), spark),
            f" {_percent(snap.kernel_cpu)}  ",
            ("mem ", label),
            (sparkline(snap.memory_history, room, floor=0.0), spark),
            f" {format_bytes(snap.kernel_memory)}",
        )
        host = Text.assemble(("host ", label), f"cpu {_percent(snap.host_cpu_percent)}")
        if snap.cpu_count is not None:
            host.append(f" of {snap.cpu_count}")
        memory = snap.host_memory
        if memory is not None:
            host.append(" · mem ")
            host.append(f"{format_bytes(memory.used)} / {format_bytes(memory.total)}")
            if memory.percent is not None:
                host.append(f" ({memory.percent:.0f}%)")
        where = Text()
        if snap.pid is not None:
            where.append(f"pid {snap.pid}")
        if snap.hostname:
            where.append(f" on {snap.hostname}" if snap.pid is not None else snap.hostname)
        source = _SOURCES.get(snap.source, "")
        if source:
            where.append(f" · via {source}", style=muted)
        rows = [cpu]
        limit = memory_limit_line(snap)
        if limit is not None:
            rows.append(Text.assemble(("limit ", label), limit.removeprefix("limit ")))
        rows += [host, *self._gpu_rows(label, muted), where]
        if snap.note:
            rows.append(Text(snap.note, style=muted))
        warning_style = self.get_component_rich_style("pane--warning", partial=True)
        gpu_warning = f"⚠ {self._gpu_warning}" if self._gpu_warning else None
        for line in (memory_warning_line(snap, self.threshold), gpu_warning):
            if line is not None:
                rows.append(Text(line, style=warning_style))
        return rows

    def _gpu_rows(self, label: Style, muted: Style) -> list[Text]:
        """One row per GPU, or the one muted row that says there is none to show."""
        gpu = self._snapshot.gpu if self._snapshot is not None else None
        if gpu is None:
            return []
        if not gpu.devices:
            return [Text(gpu_lines(gpu)[0], style=muted)]
        return [
            Text.assemble(("gpu ", label), line.removeprefix("GPU ")) for line in gpu_lines(gpu)
        ]
