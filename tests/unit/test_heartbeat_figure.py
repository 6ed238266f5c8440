"""The status line's heartbeat figure: steady on jitter, prompt on a real slowdown."""

from __future__ import annotations

from nbtui.app.screens.status_line import HeartbeatFigure

MS = 0.001


def shown(figure: HeartbeatFigure, beats: list[float], history: list[float]) -> list[str]:
    """The figure after each beat, as the status line would take it; `history` is the
    monitor's, beats appended to it."""
    out = []
    for beat in beats:
        history.append(beat)
        out.append(figure.figure(history[-20:]))
    return out


def test_jitter_across_a_step_does_not_flap_the_figure() -> None:
    # A loaded machine: beats either side of 1 ms, the median of five crossing it often.
    beats = [0.6 * MS, 1.4 * MS, 0.7 * MS, 1.2 * MS, 1.6 * MS, 0.8 * MS, 1.1 * MS, 0.9 * MS] * 4
    assert set(shown(HeartbeatFigure(), beats, [])) == {"<1 ms"}


def test_a_lasting_change_of_step_shows_after_a_few_beats() -> None:
    figure, history = HeartbeatFigure(), []
    steps = shown(figure, [0.5 * MS] * 5 + [5 * MS] * 5, history)
    assert steps[:5] == ["<1 ms"] * 5
    assert steps[-1] == "<10 ms"
    # Not at the first slower beat: the third in a row, once the median agrees.
    assert steps.index("<10 ms") - 5 >= HeartbeatFigure.AGREE - 1
    back = shown(figure, [0.5 * MS] * 5, history)
    assert back[0] == "<10 ms"
    assert back[-1] == "<1 ms"


def test_a_real_slowdown_shows_at_once() -> None:
    figure, history = HeartbeatFigure(), []
    shown(figure, [0.5 * MS] * 5, history)
    # Three slow beats make the median of five slow: shown with the third, not later.
    assert shown(figure, [0.8, 0.9, 1.2], history) == ["<1 ms", "<1 ms", "0.8 s"]
    assert shown(figure, [1.5, 1.6], history) == ["0.9 s", "1.2 s"]


def test_the_first_beat_is_shown_as_it_is() -> None:
    assert HeartbeatFigure().figure([12 * MS]) == "<100 ms"
