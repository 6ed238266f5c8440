"""Heavy outputs laid out off the event loop or only where seen (issue 19's stalls): a long
markdown document and a half-block picture come from the layout thread, a long line is cut
into rows as they are drawn and held back in its middle past the limit. The real console
on a scripted kernel; the layout thread is held at a gate so what shows before it is done
can be looked at."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rich.console import Console, Group, RenderableType
from textual.strip import Strip

from nbtui.app.kernel.search import Query
from nbtui.app.nbtui_app import create_app
from nbtui.widgets import transcript_build
from nbtui.widgets.status import StatusBar
from tests.fakes import scripted_client
from tests.ui.conftest import until, until_shown

REQUEST = {
    "msg_id": "peer-1",
    "session": "91c0a7e2",
    "username": "analyst",
    "msg_type": "execute_request",
}


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The layout thread waits for this before it lays anything out."""
    opened = threading.Event()
    real = transcript_build._lay_out

    def held(console: Console, make: Callable[[int], RenderableType], width: int) -> list[Strip]:
        opened.wait(30)
        return real(console, make, width)

    monkeypatch.setattr(transcript_build, "_lay_out", held)
    try:
        yield opened
    finally:
        opened.set()  # never leave the shared thread waiting


class _Waits:
    """Renders nothing, once `opened` is set: the layout thread waits inside Rich (and
    says so with `inside`)."""

    def __init__(self, opened: threading.Event, inside: threading.Event) -> None:
        self.opened = opened
        self.inside = inside

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Any]:
        self.inside.set()
        self.opened.wait(30)
        yield from ()


@pytest.fixture
def gate_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(opened, inside): the layout thread waits for `opened` in the middle of rendering
    (Rich's console lock held, were the console shared), once `inside` is set."""
    opened, inside = threading.Event(), threading.Event()
    real = transcript_build._lay_out

    def held(console: Console, make: Callable[[int], RenderableType], width: int) -> list[Strip]:
        return real(console, lambda w: Group(_Waits(opened, inside), make(w)), width)

    monkeypatch.setattr(transcript_build, "_lay_out", held)
    try:
        yield opened, inside
    finally:
        opened.set()


def publish(kernel: Any, msg_type: str, content: dict[str, Any]) -> None:
    """A peer's cell: busy, its code, then one output."""
    kernel.publish("status", {"execution_state": "busy"}, REQUEST)
    kernel.publish("execute_input", {"code": "show()", "execution_count": 1}, REQUEST)
    kernel.publish(msg_type, content, REQUEST)


async def test_a_long_markdown_document_shows_a_line_until_it_is_laid_out(
    gate: threading.Event,
) -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    document = "\n".join(f"- item {i} *em*" for i in range(300))
    assert len(document) > transcript_build.DEFERRED_MARKDOWN
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        publish(kernel, "display_data", {"data": {"text/markdown": document}, "metadata": {}})
        await until_shown(pilot, app, "laying out markdown")
        view = app.transcript
        assert "item 299" not in view.plain_text()
        gate.set()
        await until(pilot, lambda: "item 299" in view.plain_text())
        assert "laying out markdown" not in view.plain_text()
        await until_shown(pilot, app, "item 299")
        # Search reads the rows that came from the thread, not the waiting line.
        view.open_search()
        view.search_for(Query("item 150 em"))
        await until(pilot, lambda: view._search_status == "1 of 1")


async def test_output_shows_while_the_layout_thread_is_in_the_middle_of_rendering(
    gate_inside: tuple[threading.Event, threading.Event],
) -> None:
    # Rich's Console holds a lock while it renders: the layout thread had the app's, and
    # every frame waited for a burst of plots to be decoded (300 ms stalls).
    client, kernel = scripted_client()
    app = create_app(client)
    document = "\n".join(f"- item {i} *em*" for i in range(300))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        publish(kernel, "display_data", {"data": {"text/markdown": document}, "metadata": {}})
        await until_shown(pilot, app, "laying out markdown")
        opened, inside = gate_inside
        await until(pilot, inside.is_set)
        # A short markdown output is laid out on the UI thread, through a Rich console.
        meanwhile = {"data": {"text/markdown": "**drawn meanwhile**"}, "metadata": {}}
        kernel.publish("display_data", meanwhile, REQUEST)
        await until_shown(pilot, app, "drawn meanwhile")
        assert app.transcript.laying_out
        opened.set()
        await until_shown(pilot, app, "item 299")


async def test_a_picture_shows_once_the_layout_thread_has_decoded_it(
    gate: threading.Event,
) -> None:
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGB", (160, 160), (200, 30, 30)).save(buffer, "PNG")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        publish(kernel, "display_data", {"data": {"image/png": png}, "metadata": {}})
        view = app.transcript
        # Laid out from its header at once: its rows are there, blank until decoded.
        await until(pilot, lambda: view._height > 45)
        assert "▀" not in view.plain_text()
        gate.set()
        await until(pilot, lambda: "▀" * 40 in view.plain_text())
        await until_shown(pilot, app, "▀" * 40)


async def test_a_long_line_is_cut_as_drawn_and_held_back_past_the_limit() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    long = "0123456789" * 500  # 5,000 characters: 50 rows, cut one at a time
    huge = "h" * 20_000 + "needle" + "t" * 20_000  # past the 10,000-character limit
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        publish(kernel, "stream", {"name": "stdout", "text": f"{long}\n{huge}\nend\n"})
        view = app.transcript
        await until(pilot, lambda: "\nend" in view.plain_text())
        text = view.plain_text()
        assert long in text.replace("\n", "")
        assert "… 30,006 characters held back (F10" in text
        assert "needle" not in text
        rows = text.split("\n")
        assert rows.count("h" * view._layout_width) == 5_000 // view._layout_width
        assert rows.count("t" * view._layout_width) == 5_000 // view._layout_width
        # F10 opens it whole, and search finds what is held back.
        assert view.output_to_open() is not None
        view.open_search()
        view.search_for(Query("needle"))
        await until(pilot, lambda: view._search_status == "1 of 1")


async def test_long_lines_in_a_burst_keep_their_rows_and_the_status_line_follows() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        publish(kernel, "stream", {"name": "stdout", "text": "a" * 20_000 + "\n"})
        view = app.transcript
        status = app.query_one(StatusBar)
        await until(pilot, lambda: "a" * 50 in view.plain_text())
        await until(pilot, lambda: status.state == "busy" and "analyst" in status.detail)
        # Drawn in the screen update after the transcript's (same state word), the status
        # line still moves while output streams in.
        before = status.detail
        for index in range(500):
            if status.detail != before:
                break
            kernel.publish("stream", {"name": "stdout", "text": f"line {index}\n"}, REQUEST)
            await pilot.pause(0.02)
        assert status.detail != before
        # The long line last drawn is kept by its place: another one's rows are its own.
        kernel.publish("stream", {"name": "stdout", "text": "b" * 20_000 + "\n"}, REQUEST)
        await until(pilot, lambda: "b" * 50 in view.plain_text())
        rows = view.plain_text().split("\n")
        width = view._layout_width
        # Head and tail of each: 5,000 characters apiece.
        assert rows.count("a" * width) == rows.count("b" * width) == 2 * (5_000 // width)
