"""How long does a search take over a full scrollback (50,000 lines, 16 M characters)?

Fills a transcript model with the scrollback's budget of stream output (100 cells of 500
lines of 320 characters: the default budget of 50,000 lines and 16 M characters, full),
then times the search index the transcript view uses (`nbtui.app.kernel.search`) as a
user meets it: the first keystroke (nothing cached yet), each further keystroke of a
query typed letter by letter, the case and regex toggles, and a pass after a frame of new
output (1,000 lines) arrived while the search stays open. Pure Python, no Textual, no
kernel: the figure is the search's own.

    python bench/search.py              # the full scrollback, 5 runs (medians)
    python bench/search.py --smoke      # 2,000 lines, 1 run: a CI check that it works
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from nbtui.app.kernel.model import StreamOutput
from nbtui.app.kernel.search import Query, SearchIndex, Source

WORDS = [
    "epoch",
    "loss",
    "accuracy",
    "Tensor",
    "shape",
    "float32",
    "Warning",
    "deprecated",
    "module",
    "Traceback",
    "File",
    "line",
    "value",
    "None",
    "True",
    "False",
    "dict",
    "list",
    "import",
    "numpy",
    "pandas",
]


def make_streams(cells: int, lines: int, width: int, seed: int = 1) -> list[StreamOutput]:
    """`cells` streams of `lines` lines of about `width` characters; one holds the token."""
    rng = random.Random(seed)
    streams = []
    for cell in range(cells):
        stream = StreamOutput("stdout")
        chunk = []
        for number in range(lines):
            words: list[str] = []
            size = 0
            while size < width:
                word = rng.choice(WORDS)
                words.append(word)
                size += len(word) + 1
            line = " ".join(words)[:width]
            if cell == cells // 10 and number == 7:
                line = "needle-Token-4242 " + line[18:]
            chunk.append(line)
        stream.append("\n".join(chunk) + "\n")
        streams.append(stream)
    return streams


def sources(streams: list[StreamOutput]) -> list[Source]:
    """The view's sources for these streams, as TranscriptView builds them."""
    return [Source(s, s.lines, s.dropped, s.visible_partial) for s in streams]


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """CPU seconds `action` took (on a shared machine wall time counts the others' work
    too: both are printed, this is the search's own), and what it returned."""
    start, wall = time.process_time(), time.perf_counter()
    result = action()
    WALL.append(time.perf_counter() - wall)
    return time.process_time() - start, result


WALL: list[float] = []
"""Wall seconds of each `timed` call, in order."""


def run_once(streams: list[StreamOutput]) -> dict[str, float]:
    """One round of every measurement, in CPU ms."""
    figures: dict[str, float] = {}
    index = SearchIndex()

    def search(query: Query) -> float:
        index.set_query(query)
        seconds, hits = timed(lambda: index.search(sources(streams)))
        assert isinstance(hits, list)
        return seconds * 1000

    figures["first keystroke (cold: joins and lowercases)"] = search(Query("n"))
    typed = [search(Query("needle-token-4242"[:n])) for n in range(2, 18)]
    figures["each further keystroke, median"] = statistics.median(typed)
    figures["each further keystroke, worst"] = max(typed)
    figures["one-letter query (10,000+ matches)"] = search(Query("e"))
    figures["case toggle on"] = search(Query("needle-Token-4242", case=True))
    figures["regex toggle on"] = search(Query(r"needle-\w+-\d+", regex=True))
    figures["regex, ignoring case"] = search(Query(r"NEEDLE-\w+-\d+", regex=True))
    search(Query("needle-token-4242"))
    last = streams[-1]
    last.append("\n".join(f"new output line {n}" for n in range(1000)) + "\n")
    seconds, _ = timed(lambda: index.search(sources(streams)))
    figures["a pass after 1,000 new lines"] = seconds * 1000
    seconds, _ = timed(lambda: index.search(sources(streams)))
    figures["a pass with nothing new"] = seconds * 1000
    return figures


def main() -> None:
    """Fill the scrollback, time the search, print a table of medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CI check: 2,000 lines, one run")
    parser.add_argument("--runs", type=int, default=0, help="rounds (default 5, smoke 1)")
    args = parser.parse_args()
    cells, lines = (4, 500) if args.smoke else (100, 500)
    runs = args.runs or (1 if args.smoke else 5)
    rounds = []
    for _ in range(runs):
        streams = make_streams(cells, lines, 320)
        rounds.append(run_once(streams))
    chars = sum(s.chars for s in make_streams(cells, lines, 320)) if args.smoke else None
    total_lines = cells * lines
    size = f"{total_lines:,} lines" + (f", {chars:,} characters" if chars else ", ~16 M characters")
    print(f"search over {size}, median of {runs} run(s): CPU ms (wall ms of all calls)")
    for name in rounds[0]:
        print(f"  {name:48} {statistics.median(r[name] for r in rounds):8.1f}")
    print(
        f"  wall ms, median / worst of every call:  {statistics.median(WALL) * 1000:.1f}"
        f" / {max(WALL) * 1000:.1f}"
    )


if __name__ == "__main__":
    main()
