"""What a stream's kept lines cost in memory, measured with tracemalloc (no timing).

A flood keeps up to the scrollback's budget of short lines, and a frame folds in up to a
drain's worth (megabytes) before trimming: a str object per line made both several times
the text itself (bench/README.md, "Memory (session 7)")."""

from __future__ import annotations

import gc
import random
import tracemalloc

from nbtui.app.kernel.lines import Lines
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import StreamOutput, Transcript

OWN = "0a1b2c3d-own0-4000-8000-000000000000"
KEPT = 20_000
"""The scrollback's line budget in these tests."""
PER_MESSAGE = 2_000
"""Lines a message carries, as ipykernel batches a tight print loop."""


def _stream(start: int) -> Msg:
    text = "".join(f"line {index}\n" for index in range(start, start + PER_MESSAGE))
    return Msg(
        "iopub",
        "stream",
        f"m{start}",
        {"name": "stdout", "text": text},
        parent_id="cell",
        parent_session=OWN,
        parent_username="me",
        parent_msg_type="execute_request",
    )


def _flood(transcript: Transcript, lines: int, per_frame: int) -> None:
    """`lines` lines, `per_frame` of them folded in a frame as the app's drain does."""
    messages = [_stream(start) for start in range(0, lines, PER_MESSAGE)]
    step = per_frame // PER_MESSAGE
    for first in range(0, len(messages), step):
        transcript.apply_all(messages[first : first + step])


def _kept(transcript: Transcript) -> StreamOutput:
    (stream,) = [o for o in transcript.cells["cell"].outputs if isinstance(o, StreamOutput)]
    return stream


def test_a_kept_line_costs_about_its_characters() -> None:
    transcript = Transcript(OWN, max_lines=KEPT)
    transcript.add_own_cell("cell", "for i in range(N): print(f'line {i}')", "me")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _flood(transcript, 5 * KEPT, per_frame=PER_MESSAGE * 5)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    stream = _kept(transcript)
    assert len(stream.lines) == KEPT
    assert stream.dropped + len(stream.lines) == stream.received == 5 * KEPT
    assert stream.lines[0] == f"line {stream.dropped}"
    # "line 12345" is 10 characters: as a str of its own in a list, 72 bytes.
    assert held / KEPT < 40, f"{held / KEPT:.1f} bytes a kept line"


def test_a_frame_of_many_lines_is_not_held_a_str_each() -> None:
    transcript = Transcript(OWN, max_lines=KEPT)
    transcript.add_own_cell("cell", "for i in range(N): print(f'line {i}')", "me")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        # One frame takes 10x the budget in (a drain is up to 2 MB), trimmed at its end.
        _flood(transcript, 10 * KEPT, per_frame=10 * KEPT)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(_kept(transcript).lines) == KEPT
    # The messages themselves (~12 bytes a line) are alive throughout, as in a real drain.
    assert peak / (10 * KEPT) < 40, f"{peak / (10 * KEPT):.1f} bytes a line at the peak"


def test_lines_behave_as_the_list_they_replace() -> None:
    rng = random.Random(7)
    for _ in range(40):
        expected: list[str] = []
        lines = Lines()
        made = 0
        for _ in range(40):
            if rng.random() < 0.6:
                count = rng.choice([1, 1, 2, 7, 300])
                size = rng.choice([0, 1, 5, 40])
                new = ["".join(rng.choice("ab \t日") for _ in range(size)) for _ in range(count)]
                new = [f"{t}{made + n}" if rng.random() < 0.8 else "" for n, t in enumerate(new)]
                made += count
                expected.extend(new)
                lines.extend(new)
            else:
                count = rng.randint(0, len(expected) + 2)
                assert lines.chars(count) == sum(map(len, expected[:count]))
                lines.drop_front(count)
                del expected[:count]
            assert len(lines) == len(expected)
            assert lines == expected
            assert list(lines) == expected
            if expected:
                index = rng.randrange(-len(expected), len(expected))
                assert lines[index] == expected[index]
                start, stop = rng.randint(0, len(expected)), rng.randint(0, len(expected) + 2)
                assert lines[start:stop] == expected[start:stop]
                assert lines[start:] == expected[start:]


def test_a_megabyte_line_is_read_back_without_a_copy() -> None:
    # Each frame that lays a line out reads it: joined to others, each read sliced and
    # split a copy of it.
    big = "y" * 1_000_000
    other = "z" * 200_000
    lines = Lines(["a", "b"])
    lines.extend([big])
    lines.extend(["c", other, "d"])
    assert list(lines) == ["a", "b", big, "c", other, "d"]
    assert lines[2] is big and lines[4] is other
    assert lines[2:5][0] is big and lines[2:5][2] is other
    assert next(line for line in lines if len(line) > 1000) is big
    lines.drop_front(3)
    assert list(lines) == ["c", other, "d"]
    assert lines[1] is other
    lines.extend(["e"])  # short lines after a big one make a block of their own
    assert list(lines) == ["c", other, "d", "e"]
    assert lines.chars(4) == 1 + 200_000 + 1 + 1
