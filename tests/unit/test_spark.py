"""The panes' sparklines: a fixed scale for round trips, and which changes are only growth."""

from __future__ import annotations

from nbtui.widgets.spark import latency_sparkline, unstretched


def test_round_trips_are_drawn_on_a_fixed_scale_from_10_ms() -> None:
    assert latency_sparkline([0.0002, 0.0009, 0.004, 0.009], 8) == "▁▁▁▁"
    assert latency_sparkline([0.0002, 0.02, 0.2, 2.0, 20.0], 8) == "▁▂▄▆█"
    assert latency_sparkline([0.0002] * 30, 24) == "▁" * 24
    assert latency_sparkline([], 8) == latency_sparkline([0.1], 0) == ""


def test_a_sparkline_that_only_grew_by_its_last_level_is_unchanged() -> None:
    assert unstretched("hb ▁▁▁ <1 ms") == unstretched("hb ▁▁▁▁▁▁ <1 ms")
    assert unstretched("cpu ▁█▁ 0%  mem ███ 52 MiB") == unstretched("cpu ▁█▁▁ 0%  mem ████ 52 MiB")
    assert unstretched("▁█▁▁") != unstretched("█▁▁▁")  # shifted: the spike moved
    assert unstretched("▁▁▁") != unstretched("▁▁▁▂")  # a new level
