"""The liveness pane: alive, busy, unresponsive, stopped, lost (presumed dead), dead,
restarting or restarted, and the evidence; after a death, why the kernel died (the
post-mortem, component class `pane--cause`) until it is alive again.

State is a word and a component class (`pane--dead`, ...), never colour alone; the
colours live in styles/nbtui.tcss.
"""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text

from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.present import SteadyLatency, format_ago, format_duration, format_latency
from nbtui.widgets.rows_pane import RowsPane
from nbtui.widgets.spark import latency_sparkline

__all__ = ["LivenessPane"]


class LivenessPane(RowsPane):
    """State, heartbeat round trip with its history, misses, control latency.

    Figures that move with every probe are shown so that an idle kernel's do not move:
    round trips in coarse steps that change only when several agree (`SteadyLatency`),
    the history on a fixed scale, clocks in coarse steps; and only the rows that changed
    are written (`RowsPane`).
    """

    COMPONENT_CLASSES = {
        "pane--alive",
        "pane--busy",
        "pane--unresponsive",
        "pane--stopped",
        "pane--lost",
        "pane--dead",
        "pane--restarting",
        "pane--restarted",
        "pane--reconnecting",
        "pane--label",
        "pane--muted",
        "pane--spark",
        "pane--cause",
    }

    DEFAULT_CSS = """
    LivenessPane {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._snapshot: LivenessSnapshot | None = None
        self._busy: str | None = None
        self._last_iopub: float | None = None
        self._now = 0.0
        self._cause: str | None = None
        self._heartbeat = SteadyLatency()
        self._hb_figure = "-"
        # A control probe comes every 30 s once settled: the last one counts, and two
        # in a row change the step.
        self._control = SteadyLatency(agree=2, median_of=1)
        self._controls: deque[float] = deque(maxlen=2)
        self._control_figure = "-"

    @property
    def state(self) -> str:
        """The word shown: the snapshot's state, or "busy" while alive and busy."""
        snapshot = self._snapshot
        if snapshot is None:
            return "starting"
        if snapshot.state == "alive" and self._busy is not None:
            return "busy"
        return snapshot.state

    def update(
        self,
        snapshot: LivenessSnapshot,
        *,
        busy: str | None = None,
        last_iopub: float | None = None,
        now: float | None = None,
        cause: str | None = None,
    ) -> None:
        """Show the latest liveness.

        Args:
            snapshot: From `LivenessMonitor.on_change`.
            busy: None when idle; else what runs, e.g. "4.2 s · trainer In [17]"
                (the transcript model knows, the monitor does not).
            last_iopub: `time.monotonic()` of the last iopub message, if any.
            now: The current `time.monotonic()` (for tests); now by default.
            cause: Why the kernel last died (`KernelSession.postmortem`), if it did.
        """
        self._snapshot = snapshot
        self._busy = busy
        self._last_iopub = last_iopub
        self._now = time.monotonic() if now is None else now
        self._cause = cause
        history = snapshot.hb_history
        self._hb_figure = (
            self._heartbeat.figure(history)
            if history and snapshot.hb_rtt is not None
            else format_latency(snapshot.hb_rtt)
        )
        latency = snapshot.control_latency
        if latency is not None and (not self._controls or latency != self._controls[-1]):
            self._controls.append(latency)
        self._control_figure = (
            self._control.figure(tuple(self._controls))
            if latency is not None
            else format_latency(None)
        )
        # The state is the word's component style (build_rows), not a class of the pane:
        # a class changed at each busy and idle restyled the pane, 11 ms of each cell's
        # first and last frames, for no rule that read it.
        self.show_rows()

    def build_rows(self) -> list[Text]:
        """Three rows: the state and for how long (or what runs), the heartbeat's
        sparkline and round trip, the control channel's latency and iopub's last message;
        then why the kernel died, after a death."""
        snapshot = self._snapshot
        muted = self.get_component_rich_style("pane--muted", partial=True)
        label = self.get_component_rich_style("pane--label", partial=True)
        if snapshot is None:
            return [Text("● starting", style=muted)]
        state = self.state
        headline = Text.assemble(
            (f"● {state}", self.get_component_rich_style(f"pane--{state}", partial=True)),
        )
        if state == "busy" and self._busy:
            headline.append(f" · {self._busy}")
        else:
            headline.append(
                f" · {format_duration(self._now - snapshot.since, coarse=True)}", style=muted
            )
            if snapshot.detail:
                headline.append(f" · {snapshot.detail}", style=muted)
        width = max(0, self.size.width)
        figures = f" {self._hb_figure} · misses {snapshot.misses}"
        room = max(0, min(24, width - 3 - len(figures)))
        heartbeat = Text.assemble(
            ("hb ", label),
            (
                latency_sparkline(snapshot.hb_history, room),
                self.get_component_rich_style("pane--spark", partial=True),
            ),
            figures,
        )
        control = Text.assemble(("control ", label), self._control_figure)
        if snapshot.restarts:
            control.append(f" · restarts {snapshot.restarts}", style=muted)
        if self._last_iopub is not None:
            control.append(
                f" · iopub {format_ago(self._now - self._last_iopub, coarse=True)}", style=muted
            )
        rows = [headline, heartbeat, control]
        if self._cause:
            rows.append(
                Text.assemble(
                    ("why ", label),
                    (self._cause, self.get_component_rich_style("pane--cause", partial=True)),
                )
            )
        return rows
