"""The Transcript fed recorded message sequences: no kernel, no sockets, no UI."""

from __future__ import annotations

import gc
import itertools
import re
import weakref
from dataclasses import dataclass
from typing import Any

import pytest

from nbtui.app.kernel.messages import Msg, short_session
from nbtui.app.kernel.model import (
    CHARS_PER_LINE,
    PASSWORD_MASK,
    Cell,
    DataOutput,
    ErrorOutput,
    InputOutput,
    Notice,
    PageOutput,
    StreamOutput,
    Transcript,
)

OWN = "0a1b2c3d-own0-4000-8000-000000000000"
OTHER = "b0b5e55e-0the-4000-8000-000000000000"
THIRD = "c3c3c3c3-thrd-4000-8000-000000000000"
SGR = re.compile(r"\x1b\[[0-9;:]*m")

_ids = itertools.count()


def _msg_id() -> str:
    return f"msg-{next(_ids)}"


@dataclass
class Request:
    """One request a client sent, and the messages the kernel publishes about it."""

    msg_id: str
    session: str = OWN
    username: str = "me"
    msg_type: str = "execute_request"

    def _make(self, channel: str, msg_type: str, content: Any) -> Msg:
        return Msg(
            channel,
            msg_type,
            _msg_id(),
            content,
            parent_id=self.msg_id,
            parent_session=self.session,
            parent_username=self.username,
            parent_msg_type=self.msg_type,
        )

    def iopub(self, msg_type: str, content: Any) -> Msg:
        return self._make("iopub", msg_type, content)

    def busy(self) -> Msg:
        return self.iopub("status", {"execution_state": "busy"})

    def idle(self) -> Msg:
        return self.iopub("status", {"execution_state": "idle"})

    def input(self, code: str, count: int = 1) -> Msg:
        return self.iopub("execute_input", {"code": code, "execution_count": count})

    def stream(self, text: Any, name: Any = "stdout") -> Msg:
        return self.iopub("stream", {"name": name, "text": text})

    def result(self, text: str, count: int = 1) -> Msg:
        return self.iopub(
            "execute_result",
            {
                "data": {"text/plain": text},
                "metadata": {},
                "execution_count": count,
            },
        )

    def display(self, text: str, display_id: str | None = None) -> Msg:
        content: dict[str, Any] = {"data": {"text/plain": text}, "metadata": {}}
        if display_id is not None:
            content["transient"] = {"display_id": display_id}
        return self.iopub("display_data", content)

    def update(self, text: str, display_id: str) -> Msg:
        return self.iopub(
            "update_display_data",
            {
                "data": {"text/plain": text},
                "metadata": {},
                "transient": {"display_id": display_id},
            },
        )

    def error(self, ename: str = "ZeroDivisionError", evalue: str = "division by zero") -> Msg:
        return self.iopub(
            "error",
            {
                "ename": ename,
                "evalue": evalue,
                "traceback": [f"\x1b[31m{ename}\x1b[0m", "\x1b]0;title\x07Traceback line"],
            },
        )

    def clear(self, wait: bool) -> Msg:
        return self.iopub("clear_output", {"wait": wait})

    def reply(self, status: str, count: int = 1) -> Msg:
        return self._make("shell", "execute_reply", {"status": status, "execution_count": count})


def own(key: str | None = None) -> Request:
    return Request(key or _msg_id())


def other(key: str | None = None, session: str = OTHER, username: str = "alice") -> Request:
    return Request(key or _msg_id(), session, username)


def feed(transcript: Transcript, *messages: Msg) -> None:
    transcript.apply_all(messages)


def run_cell(transcript: Transcript, request: Request, code: str, *outputs: Msg) -> Cell:
    feed(transcript, request.busy(), request.input(code), *outputs, request.idle())
    return transcript.cells[request.msg_id]


def stream_outputs(cell: Cell) -> list[StreamOutput]:
    return [output for output in cell.outputs if isinstance(output, StreamOutput)]


def kept_outputs(transcript: Transcript) -> list[StreamOutput | DataOutput | ErrorOutput]:
    return [
        output
        for entry in transcript.entries
        if isinstance(entry, Cell)
        for output in entry.outputs
    ]


def kept_lines(transcript: Transcript) -> int:
    """Every output line the transcript holds, counted from the outputs themselves."""
    return sum(
        len(output.lines) if isinstance(output, StreamOutput) else output.line_count
        for output in kept_outputs(transcript)
    )


# -- who ran what --------------------------------------------------------------------------


def test_own_cell_lifecycle() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = transcript.add_own_cell(request.msg_id, "print(1); 1 + 1", "me")
    assert cell.state == "queued"
    assert cell.is_self
    assert cell.code == "print(1); 1 + 1"

    feed(transcript, request.busy())
    assert cell.state == "running"
    assert transcript.busy
    assert transcript.oldest_running() is cell

    feed(
        transcript,
        request.input("print(1); 1 + 1", 7),
        request.stream("1\n"),
        request.result("2", 7),
    )
    assert cell.execution_count == 7
    assert cell.state == "running"

    feed(transcript, request.idle())
    assert cell.state == "ok"
    assert not transcript.busy
    assert cell.finished is not None
    assert cell.started is not None
    assert len(cell.outputs) == 2
    stream, result = cell.outputs
    assert isinstance(stream, StreamOutput)
    assert stream.lines == ["1"]
    assert isinstance(result, DataOutput)
    assert result.text == "2"
    assert result.execution_count == 7
    assert transcript.entries == [cell]
    assert transcript.peers[OWN].is_self
    assert transcript.peers[OWN].running == 0


def test_execute_input_does_not_overwrite_own_code() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "typed", "me")
    cell = run_cell(transcript, request, "echoed")
    assert cell.code == "typed"


def test_other_clients_cell_is_attributed_to_its_session() -> None:
    transcript = Transcript(OWN)
    request = other(username="alice")
    cell = run_cell(transcript, request, "x = 41 + 1", request.stream("hello\n"))
    assert cell.session == OTHER
    assert cell.username == "alice"
    assert not cell.is_self
    assert cell.code == "x = 41 + 1"
    assert cell.state == "ok"
    assert stream_outputs(cell)[0].lines == ["hello"]
    peer = transcript.peers[OTHER]
    assert not peer.is_self
    assert peer.username == "alice"
    assert peer.cells == 1
    assert peer.running == 0
    assert peer.label == "alice@b0b5"
    assert OWN not in transcript.peers


def test_two_clients_with_the_same_username_are_two_peers() -> None:
    transcript = Transcript(OWN)
    run_cell(transcript, other(session=OTHER, username="jovyan"), "a = 1")
    run_cell(transcript, other(session=THIRD, username="jovyan"), "b = 2")
    assert set(transcript.peers) == {OTHER, THIRD}
    assert transcript.peers[OTHER].label != transcript.peers[THIRD].label


def test_other_clients_code_is_sanitized() -> None:
    transcript = Transcript(OWN)
    cell = run_cell(transcript, other(), "x = 1\x1b]52;c;aGVsbG8=\x07")
    assert cell.code == "x = 1"


def test_a_session_id_shows_only_letters_and_digits() -> None:
    transcript = Transcript(OWN)
    run_cell(transcript, other(session="\x1bc\u202e\x1b]0;t\x07-9f"), "1")
    (peer,) = (p for p in transcript.peers.values() if not p.is_self)
    assert peer.label == "alice@c0t9"
    assert short_session("3f2a9b10-0000-4000") == "3f2a"
    assert short_session("\x1b\u202e") == short_session("") == "????"


def test_other_clients_trojan_source_shows_its_invisible_characters() -> None:
    transcript = Transcript(OWN)
    code = 'if level != "user\u202e \u2066# admin\u2069 \u2066":\r    pass'
    cell = run_cell(transcript, other(), code)
    assert cell.code == 'if level != "user<U+202E> <U+2066># admin<U+2069> <U+2066>":\n    pass'


def test_other_clients_username_and_output_lose_invisible_characters() -> None:
    transcript = Transcript(OWN)
    request = other(username="ali\u202ece")
    cell = run_cell(transcript, request, "print()")
    feed(transcript, request.stream("ab\u200bc\u2066d\n"))
    assert transcript.peers[OTHER].username == "alice"
    stream = cell.outputs[0]
    assert isinstance(stream, StreamOutput)
    assert stream.lines == ["abcd"]


# -- busy per request ----------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["kernel_info_request", "usage_request", "interrupt_request"])
def test_control_probe_does_not_end_a_running_cell(probe: str) -> None:
    transcript = Transcript(OWN)
    cell_request = own()
    feed(transcript, cell_request.busy(), cell_request.input("import time; time.sleep(10)"))
    probe_request = Request(_msg_id(), OWN, "me", probe)
    feed(transcript, probe_request.busy(), probe_request.idle())
    cell = transcript.cells[cell_request.msg_id]
    assert cell.state == "running"
    assert transcript.busy
    assert transcript.execution_state == "idle"  # shown, never used for busy
    assert probe_request.msg_id not in transcript.cells

    feed(transcript, cell_request.idle())
    assert cell.state == "ok"
    assert not transcript.busy


def test_idle_of_an_unknown_request_does_not_end_a_running_cell() -> None:
    transcript = Transcript(OWN)
    mine = own()
    feed(transcript, mine.busy())
    feed(transcript, other().idle())
    assert transcript.busy
    assert transcript.cells[mine.msg_id].state == "running"


def test_two_overlapping_cells() -> None:
    transcript = Transcript(OWN)
    first, second = own(), other()
    feed(transcript, first.busy(), first.input("a"), second.busy(), second.input("b"))
    assert set(transcript.running) == {first.msg_id, second.msg_id}
    assert transcript.peers[OTHER].running == 1

    feed(transcript, first.idle())
    assert transcript.busy
    assert transcript.cells[first.msg_id].state == "ok"
    assert transcript.cells[second.msg_id].state == "running"
    assert transcript.oldest_running() is transcript.cells[second.msg_id]

    feed(transcript, second.stream("late\n"), second.idle())
    assert not transcript.busy
    assert transcript.cells[second.msg_id].state == "ok"
    assert transcript.peers[OTHER].running == 0


def test_late_joiner_sees_the_running_cell_finish() -> None:
    transcript = Transcript(OWN)
    request = other()
    # We attached after the cell's busy and execute_input went out.
    feed(transcript, request.stream("still going\n"), request.idle())
    cell = transcript.cells[request.msg_id]
    assert cell.state == "ok"
    assert cell.finished is not None


def test_late_joiner_output_is_attributed() -> None:
    transcript = Transcript(OWN)
    request = other()
    feed(transcript, request.stream("still going\n"))
    cell = transcript.cells[request.msg_id]
    assert cell.code is None
    assert cell.session == OTHER
    assert stream_outputs(cell)[0].lines == ["still going"]


# -- streams -------------------------------------------------------------------------------


def test_consecutive_chunks_of_one_stream_merge() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript,
        request,
        "code",
        request.stream("a\n"),
        request.stream("b\n"),
        request.stream("c\n"),
    )
    assert len(cell.outputs) == 1
    assert stream_outputs(cell)[0].lines == ["a", "b", "c"]


def test_stdout_and_stderr_are_separate() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript,
        request,
        "code",
        request.stream("out 1\n"),
        request.stream("err 1\n", "stderr"),
        request.stream("err 2\n", "stderr"),
        request.stream("out 2\n"),
    )
    streams = stream_outputs(cell)
    assert [(s.name, s.lines) for s in streams] == [
        ("stdout", ["out 1"]),
        ("stderr", ["err 1", "err 2"]),
        ("stdout", ["out 2"]),
    ]


def test_unknown_stream_name_becomes_stdout() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "code", request.stream("x\n", name="stdweird"))
    assert stream_outputs(cell)[0].name == "stdout"


def test_partial_lines_across_chunks() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy(), request.stream("hel"))
    stream = stream_outputs(transcript.cells[request.msg_id])[0]
    assert stream.lines == []
    assert stream.partial == "hel"
    assert stream.line_count == 1
    feed(transcript, request.stream("lo\nwor"))
    assert stream.lines == ["hello"]
    assert stream.partial == "wor"
    feed(transcript, request.stream("ld\n"), request.idle())
    assert stream.lines == ["hello", "world"]
    assert stream.partial == ""
    assert stream.received == 2
    assert transcript.stored_lines == 2


def test_carriage_return_progress_across_chunks_is_one_line() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy())
    for chunk in ["\r 10%", "\r 20%", "\r 50%", "\r100%"]:
        feed(transcript, request.stream(chunk, "stderr"))
    stream = stream_outputs(transcript.cells[request.msg_id])[0]
    assert stream.lines == []
    assert stream.visible_partial == "100%"
    assert stream.line_count == 1
    feed(transcript, request.stream("\n", "stderr"), request.idle())
    assert stream.lines == ["100%"]
    assert stream.line_count == 1
    assert transcript.stored_lines == 1


def test_progress_bar_in_one_chunk_then_text() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "code", request.stream("\r 10%\r 20%\r100%\ndone\n"))
    assert stream_outputs(cell)[0].lines == ["100%", "done"]


def test_backspace_in_stream() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "code", request.stream("abc\b\bX\n"))
    assert stream_outputs(cell)[0].lines == ["aX"]


def test_stream_escapes_are_removed_but_colours_kept() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript,
        request,
        "code",
        request.stream("\x1b]52;c;aGVsbG8=\x07\x1b[31mred\x1b[0m\x1b[6n\n"),
    )
    assert stream_outputs(cell)[0].lines == ["\x1b[31mred\x1b[0m"]


def test_escape_split_across_chunks_never_reaches_a_line() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript, request, "code", request.stream("a\x1b]0;ti"), request.stream("tle\x07b\n")
    )
    (line,) = stream_outputs(cell)[0].lines
    assert "\x1b" not in SGR.sub("", line)


def test_backspace_cannot_forge_an_escape_in_a_stream() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "code", request.stream("\x1b[2;5m\bHello\n"))
    (line,) = stream_outputs(cell)[0].lines
    assert "\x1b" not in SGR.sub("", line)


def test_progress_bar_redraws_do_not_accumulate() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy())
    for index in range(5000):
        feed(transcript, request.stream(f"\r{index:5d} it |{'#' * (index % 40):40s}|"))
    stream = stream_outputs(transcript.cells[request.msg_id])[0]
    assert stream.visible_partial.startswith(" 4999 it")
    assert len(stream.partial) <= 200


def test_a_long_line_in_small_chunks_is_kept_whole() -> None:
    # One dot per message: the line grows without being copied whole on each one.
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy())
    for index in range(20_000):
        feed(transcript, request.stream("." if index % 1000 else "|"))
    stream = stream_outputs(transcript.cells[request.msg_id])[0]
    assert stream.lines == []
    assert stream.partial == ("|" + "." * 999) * 20
    assert stream.line_count == 1
    feed(transcript, request.stream("end\nnext"), request.idle())
    assert stream.lines == [("|" + "." * 999) * 20 + "end"]
    assert stream.partial == "next"
    assert stream.text == ("|" + "." * 999) * 20 + "end\nnext"


def test_a_carriage_return_after_a_grown_line_replaces_it() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript,
        request,
        "code",
        request.stream("loading"),
        request.stream("..."),
        request.stream("\r"),
        request.stream("done"),
        request.stream("!\n"),
    )
    assert stream_outputs(cell)[0].lines == ["done!"]


def test_stream_text_is_what_is_shown() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "code", request.stream("a\nb\n\r 50%\r100%"))
    assert stream_outputs(cell)[0].text == "a\nb\n100%"


# -- errors and aborts ---------------------------------------------------------------------


def test_error_marks_the_cell() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "1/0", request.error())
    assert cell.state == "error"
    (error,) = cell.outputs
    assert isinstance(error, ErrorOutput)
    assert error.ename == "ZeroDivisionError"
    text = error.text
    assert "ZeroDivisionError" in text
    assert "Traceback line" in text
    assert "title" not in text
    assert "\x1b" not in SGR.sub("", text)


def test_error_reply_marks_the_cell() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "raise", "me")
    run_cell(transcript, request, "raise")
    feed(transcript, request.reply("error"))
    assert transcript.cells[request.msg_id].state == "error"


@pytest.mark.parametrize("status", ["abort", "aborted"])
@pytest.mark.parametrize("reply_first", [True, False])
def test_abort_reply_marks_the_cell_aborted(status: str, reply_first: bool) -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "sleep 30", "me")
    feed(transcript, request.busy(), request.input("sleep 30"))
    if reply_first:
        feed(transcript, request.reply(status), request.idle())
    else:
        feed(transcript, request.idle(), request.reply(status))
    cell = transcript.cells[request.msg_id]
    assert cell.state == "aborted"
    assert not transcript.busy


def test_ok_reply_keeps_ok() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "1", "me")
    run_cell(transcript, request, "1")
    feed(transcript, request.reply("ok", 3))
    assert transcript.cells[request.msg_id].state == "ok"


HELP = (
    "\x1b[0;31mSignature:\x1b[0m \x1b[0mlen\x1b[0m"
    "\x1b[0;34m(\x1b[0m\x1b[0mobj\x1b[0m\x1b[0;34m)\x1b[0m\n"
    "\x1b[0;31mDocstring:\x1b[0m Return the number of items in a container.\x1b]0;t\x07\n"
    "\x1b[0;31mType:\x1b[0m      builtin_function_or_method"
)
"""ipykernel's `page` payload for `len?`, with a hostile title change added."""


def _reply_with(request: Request, payload: list[Any]) -> Msg:
    return request._make(
        "shell",
        "execute_reply",
        {"status": "ok", "execution_count": 1, "payload": payload},
    )


def test_help_in_the_reply_is_kept_as_the_cells_output() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "len?", "me")
    run_cell(transcript, request, "len?", request.stream("before\n"))
    page = {"source": "page", "data": {"text/plain": HELP}, "start": 0}
    feed(transcript, _reply_with(request, [{"source": "set_next_input", "text": "x"}, page]))
    cell = transcript.cells[request.msg_id]
    assert [type(output) for output in cell.outputs] == [StreamOutput, PageOutput]
    shown = cell.outputs[1]
    assert isinstance(shown, PageOutput)
    assert "Return the number of items in a container." in shown.text
    assert "\x1b[0;31mSignature:" in shown.text  # IPython's colours kept
    assert "\x1b]" not in shown.text
    assert shown.execution_count is None  # no Out[n] prompt
    assert transcript.stored_lines == 1 + 3
    assert transcript.changed  # the view hears of it


def test_an_old_style_page_and_odd_payloads() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "len?", "me")
    run_cell(transcript, request, "len?")
    odd: list[Any] = ["page", None, {"source": "page"}, {"source": "page", "data": []}]
    feed(transcript, _reply_with(request, [*odd, {"source": "page", "text": "old help"}]))
    outputs = transcript.cells[request.msg_id].outputs
    assert [output.text for output in outputs] == ["old help"]


def _input_request(request: Request, prompt: Any, password: bool) -> Msg:
    return request._make("stdin", "input_request", {"prompt": prompt, "password": password})


def test_an_answered_input_stays_in_the_transcript() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "input()", "me")
    feed(transcript, request.busy(), request.stream("hello\n"))
    asked = _input_request(request, "name\x1b]0;t\x07? ", False)
    feed(transcript, asked)  # the model keeps nothing of a question until it is answered
    assert len(transcript.cells[request.msg_id].outputs) == 1
    transcript.take_changes()
    output = transcript.add_input(asked, "bob\x1bc")
    assert isinstance(output, InputOutput)
    assert output.text == "name? bob"
    feed(transcript, request.stream("hi bob\n"), request.idle())
    outputs = transcript.cells[request.msg_id].outputs
    assert [output.text for output in outputs] == ["hello", "name? bob", "hi bob"]


def test_a_password_answer_is_masked_and_never_kept() -> None:
    transcript = Transcript(OWN)
    request = own()
    transcript.add_own_cell(request.msg_id, "getpass()", "me")
    feed(transcript, request.busy())
    output = transcript.add_input(_input_request(request, "pw? ", True), "s3cret")
    assert output is not None
    assert output.text == "pw? " + PASSWORD_MASK
    assert "s3cret" not in repr(transcript.cells[request.msg_id])
    assert transcript.add_input(_input_request(own(), "gone? ", False), "x") is None


def test_an_html_objects_source_is_its_html() -> None:
    html = DataOutput(
        {"text/html": "<b>x</b>", "text/plain": "<IPython.core.display.HTML object>"}, {}
    )
    assert html.source == "<b>x</b>"
    assert DataOutput({"text/html": "<b>x</b>"}, {}).source == "<b>x</b>"
    frame = DataOutput({"text/html": "<table/>", "text/plain": "   a\n0  1"}, {})
    assert frame.source == "   a\n0  1"


def test_reply_for_an_unknown_cell_is_ignored() -> None:
    transcript = Transcript(OWN)
    feed(transcript, own().reply("aborted"))
    assert transcript.entries == []


def test_mark_all_stopped() -> None:
    transcript = Transcript(OWN)
    first, second = own(), other()
    feed(transcript, first.busy(), second.busy())
    transcript.mark_all_stopped()
    assert not transcript.busy
    assert transcript.cells[first.msg_id].state == "aborted"
    assert transcript.cells[second.msg_id].state == "aborted"
    assert all(peer.running == 0 for peer in transcript.peers.values())


# -- clear_output and display updates ------------------------------------------------------


def test_clear_output_wait_clears_at_next_output() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy(), request.stream("old 1\nold 2\n"), request.clear(True))
    cell = transcript.cells[request.msg_id]
    assert stream_outputs(cell)[0].lines == ["old 1", "old 2"]
    feed(transcript, request.stream("new\n"))
    assert [s.lines for s in stream_outputs(cell)] == [["new"]]
    assert transcript.stored_lines == 1
    feed(transcript, request.stream("newer\n"), request.idle())
    assert [s.lines for s in stream_outputs(cell)] == [["new", "newer"]]


def test_clear_output_now_clears_immediately() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(
        transcript,
        request.busy(),
        request.stream("old\n"),
        request.display("pic"),
        request.clear(False),
    )
    cell = transcript.cells[request.msg_id]
    assert cell.outputs == []
    assert transcript.stored_lines == 0
    feed(transcript, request.stream("new\n"), request.idle())
    assert [s.lines for s in stream_outputs(cell)] == [["new"]]


def test_update_display_data_replaces_by_display_id() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript,
        request,
        "h = display('v1', display_id=True)",
        request.display("v1", "d1"),
        request.display("plain"),
    )
    transcript.take_changes()
    feed(transcript, request.update("v2", "d1"))
    tracked, plain = cell.outputs
    assert isinstance(tracked, DataOutput)
    assert isinstance(plain, DataOutput)
    assert tracked.text == "v2"
    assert tracked.version == 1
    assert plain.text == "plain"
    _, changed = transcript.take_changes()
    assert cell in changed


def test_update_display_data_across_cells() -> None:
    transcript = Transcript(OWN)
    first = own()
    first_cell = run_cell(
        transcript, first, "h = display('v1', display_id='d')", first.display("v1", "d")
    )
    second = other()
    second_cell = run_cell(transcript, second, "h.update('v2')", second.update("v2", "d"))
    (tracked,) = first_cell.outputs
    assert isinstance(tracked, DataOutput)
    assert tracked.text == "v2"
    assert second_cell.outputs == []


def test_update_display_data_updates_every_output_with_the_id() -> None:
    transcript = Transcript(OWN)
    first, second, third = own(), own(), own()
    a = run_cell(transcript, first, "d", first.display("v1", "shared"))
    b = run_cell(transcript, second, "d", second.display("v1", "shared"))
    run_cell(transcript, third, "u", third.update("v2", "shared"))
    for cell in (a, b):
        (output,) = cell.outputs
        assert isinstance(output, DataOutput)
        assert output.text == "v2"


def test_update_of_unknown_display_id_is_ignored() -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(
        transcript, request, "d", request.display("v1", "known"), request.update("v2", "unknown")
    )
    (output,) = cell.outputs
    assert isinstance(output, DataOutput)
    assert output.text == "v1"


def test_cleared_display_is_no_longer_updated() -> None:
    transcript = Transcript(OWN)
    request = own()
    feed(transcript, request.busy(), request.display("v1", "d"))
    output = transcript.cells[request.msg_id].outputs[0]
    feed(transcript, request.clear(False), request.update("v2", "d"), request.idle())
    assert isinstance(output, DataOutput)
    assert output.text == "v1"


def test_update_display_data_keeps_the_line_budget() -> None:
    transcript = Transcript(OWN, max_lines=100)
    first, second, third = own(), own(), own()
    run_cell(transcript, first, "h = display('v1', display_id='d')", first.display("v1", "d"))
    big = "\n".join(f"row {index}" for index in range(300))
    run_cell(transcript, second, "h.update(big)", second.update(big, "d"))
    run_cell(transcript, third, "print", third.stream("x\n" * 50))
    assert transcript.stored_lines == kept_lines(transcript)
    assert kept_lines(transcript) <= 100


# -- bounded scrollback --------------------------------------------------------------------


def _chunk(start: int, count: int = 100) -> str:
    return "".join(f"line {index}\n" for index in range(start, start + count))


def test_flood_in_one_cell_is_bounded_with_exact_dropped_count() -> None:
    transcript = Transcript(OWN, max_lines=1000)
    request = own()
    transcript.add_own_cell(request.msg_id, "for i in range(10000): print(f'line {i}')", "me")
    feed(transcript, request.busy())
    for chunk in range(100):
        feed(transcript, request.stream(_chunk(chunk * 100)))
        assert transcript.stored_lines <= 1000
    feed(transcript, request.idle())
    (stream,) = stream_outputs(transcript.cells[request.msg_id])
    assert stream.received == 10_000
    assert len(stream.lines) <= 1000
    assert stream.received == len(stream.lines) + stream.dropped
    assert stream.lines[-1] == "line 9999"
    assert stream.lines[0] == f"line {stream.dropped}"
    assert transcript.stored_lines == kept_lines(transcript)


def test_flood_applied_in_one_batch_is_bounded() -> None:
    transcript = Transcript(OWN, max_lines=1000)
    request = own()
    messages = [request.busy()]
    messages += [request.stream(_chunk(chunk * 100)) for chunk in range(100)]
    messages.append(request.idle())
    transcript.apply_all(messages)
    (stream,) = stream_outputs(transcript.cells[request.msg_id])
    assert len(stream.lines) <= 1000
    assert stream.received == len(stream.lines) + stream.dropped == 10_000


def test_oldest_finished_cells_are_removed_and_reported() -> None:
    # Rich outputs cannot be trimmed line by line: whole cells go, oldest first.
    transcript = Transcript(OWN, max_lines=100)
    cells = []
    for index in range(10):
        request = own()
        body = "\n".join(f"{index}:{row}" for row in range(30))
        cells.append(run_cell(transcript, request, f"cell {index}", request.result(body)))
    removed, changed = transcript.take_changes()
    assert kept_lines(transcript) <= 100
    assert transcript.stored_lines == kept_lines(transcript)
    assert removed
    assert removed == cells[: len(removed)]
    assert transcript.entries == cells[len(removed) :]
    assert transcript.dropped_entries == len(removed)
    for cell in removed:
        assert cell.key not in transcript.cells
        assert cell not in changed
    assert cells[-1] in transcript.entries
    assert transcript.take_changes() == ([], [])


def test_running_cell_is_never_removed() -> None:
    transcript = Transcript(OWN, max_lines=50)
    running = own()
    body = "\n".join(str(row) for row in range(40))
    feed(transcript, running.busy(), running.result(body))
    for _ in range(3):
        request = own()
        run_cell(transcript, request, "more", request.result(body))
    assert transcript.entries[0] is transcript.cells[running.msg_id]
    assert transcript.busy


def test_cells_trimmed_to_nothing_are_removed() -> None:
    transcript = Transcript(OWN, max_lines=1000)
    cells = []
    for index in range(100):
        request = own()
        cells.append(
            run_cell(transcript, request, f"cell {index}", request.stream(_chunk(index * 100)))
        )
    removed, _ = transcript.take_changes()
    assert kept_lines(transcript) <= 1000
    streams = [stream for cell in cells for stream in stream_outputs(cell)]
    received = sum(stream.received for stream in streams)
    dropped = sum(stream.dropped for stream in streams)
    removed_lines = sum(len(s.lines) for cell in removed for s in stream_outputs(cell))
    assert received == 10_000 == kept_lines(transcript) + dropped + removed_lines
    assert len(removed) >= 90
    assert removed == cells[: len(removed)]


def kept_chars(transcript: Transcript) -> int:
    """Every output character the budget counts, from the outputs themselves."""
    return sum(
        sum(map(len, output.lines)) if isinstance(output, StreamOutput) else output.chars
        for output in kept_outputs(transcript)
    )


def test_a_few_huge_lines_are_bounded_by_characters_with_exact_counts() -> None:
    # 50 lines are far below the line budget, but 50 MB would not be.
    transcript = Transcript(OWN, max_lines=1000, max_chars=10_000)
    request = own()
    transcript.add_own_cell(request.msg_id, "for i in range(50): print(str(i) * 1000)", "me")
    feed(transcript, request.busy())
    for index in range(50):
        feed(transcript, request.stream(f"{index % 10}" * 999 + "\n"))
        assert transcript.stored_chars <= 10_000
    feed(transcript, request.idle())
    (stream,) = stream_outputs(transcript.cells[request.msg_id])
    assert stream.received == 50 == len(stream.lines) + stream.dropped
    assert len(stream.lines) == 10
    assert stream.lines[-1] == "9" * 999
    assert transcript.stored_chars == kept_chars(transcript) == stream.chars == 9990
    assert transcript.stored_lines == kept_lines(transcript)


def test_the_default_character_budget_follows_the_line_budget() -> None:
    assert Transcript(OWN, max_lines=1000).max_chars == 1000 * CHARS_PER_LINE


def test_an_old_huge_rich_output_goes_for_the_character_budget() -> None:
    transcript = Transcript(OWN, max_lines=1000, max_chars=10_000)
    old, new = own(), own()
    old_cell = run_cell(transcript, old, "blob", old.result("x" * 8000))
    new_cell = run_cell(transcript, new, "blob", new.result("y" * 8000))
    assert transcript.entries == [new_cell]
    assert old_cell.key not in transcript.cells
    assert transcript.stored_chars == kept_chars(transcript) == 8000
    # The newest output is kept whole even when it alone is over budget.
    newest = own()
    run_cell(transcript, newest, "blob", newest.result("z" * 20_000))
    assert transcript.stored_chars == kept_chars(transcript) == 20_000


def test_the_character_count_follows_clears_updates_and_errors() -> None:
    transcript = Transcript(OWN)
    first, second = own(), own()
    feed(
        transcript,
        first.busy(),
        first.stream("abc\n"),
        first.display("v1", "d"),
        first.clear(False),
        first.stream("de\n"),
        first.idle(),
    )
    assert transcript.stored_chars == kept_chars(transcript) == 2
    run_cell(transcript, second, "h.update", second.update("v22", "d"), second.error())
    assert transcript.stored_chars == kept_chars(transcript)
    assert transcript.stored_lines == kept_lines(transcript)


def test_newest_output_is_kept_over_an_old_rich_output() -> None:
    transcript = Transcript(OWN, max_lines=1000)
    old, new = own(), own()
    old_cell = run_cell(
        transcript, old, "big", old.result("\n".join(str(row) for row in range(1000)))
    )
    new_cell = run_cell(transcript, new, "print", new.stream(_chunk(0, 500)))
    assert kept_lines(transcript) <= 1000
    assert stream_outputs(new_cell)[0].lines == [f"line {index}" for index in range(500)]
    removed, _ = transcript.take_changes()
    assert removed == [old_cell]


def test_flood_across_cells_keeps_the_budget_and_counts() -> None:
    transcript = Transcript(OWN, max_lines=1000)
    cells = []
    for index in range(100):
        request = own()
        cells.append(
            run_cell(transcript, request, f"cell {index}", request.stream(_chunk(index * 100)))
        )
    removed, _ = transcript.take_changes()
    assert kept_lines(transcript) <= 1000
    assert transcript.stored_lines == kept_lines(transcript)
    streams = [stream for cell in cells for stream in stream_outputs(cell)]
    dropped = sum(stream.dropped for stream in streams)
    removed_lines = sum(len(s.lines) for cell in removed for s in stream_outputs(cell))
    assert sum(s.received for s in streams) == 10_000
    assert kept_lines(transcript) + dropped + removed_lines == 10_000
    # The newest output is what is kept.
    assert stream_outputs(cells[-1])[0].lines[-1] == "line 9999"


def test_removed_outputs_are_freed() -> None:
    transcript = Transcript(OWN, max_lines=20)
    body = "\n".join(str(row) for row in range(10))
    first = own()
    run_cell(transcript, first, "display", first.display(body, "status"))
    probe = weakref.ref(transcript.cells[first.msg_id].outputs[0])
    for _ in range(5):
        request = own()
        run_cell(transcript, request, "display", request.display(body, "status"))
    removed, _ = transcript.take_changes()
    assert first.msg_id not in transcript.cells
    del removed
    gc.collect()
    assert probe() is None


# -- notices -------------------------------------------------------------------------------


@pytest.mark.parametrize(("restart", "verb"), [(False, "shut down"), (True, "restart")])
def test_shutdown_reply_from_a_peer_adds_a_notice(restart: bool, verb: str) -> None:
    transcript = Transcript(OWN)
    run_cell(transcript, Request(_msg_id(), OTHER, "bob"), "x = 1")
    request = Request(_msg_id(), OTHER, "bob", "shutdown_request")
    feed(
        transcript,
        request.busy(),
        request.iopub("shutdown_reply", {"status": "ok", "restart": restart}),
        request.idle(),
    )
    notices = [entry for entry in transcript.entries if isinstance(entry, Notice)]
    assert len(notices) == 1
    assert "bob@b0b5" in notices[0].text
    assert verb in notices[0].text
    assert notices[0].level == "warning"
    assert not transcript.busy


@pytest.mark.parametrize(("restart", "verb"), [(False, "shut down"), (True, "restart")])
def test_shutdown_reply_from_a_session_seen_nowhere_is_the_owners(restart: bool, verb: str) -> None:
    # The kernel's KernelManager (or a server) asks from its own session, which runs no
    # cells: it is named as the owner, not as a made-up peer "user@b0b5".
    transcript = Transcript(OWN)
    request = Request(_msg_id(), OTHER, "owner", "shutdown_request")
    feed(
        transcript,
        request.busy(),
        request.iopub("shutdown_reply", {"status": "ok", "restart": restart}),
        request.idle(),
    )
    notices = [entry for entry in transcript.entries if isinstance(entry, Notice)]
    assert [notice.text for notice in notices] == [f"the kernel's owner asked it to {verb}"]
    assert "b0b5" not in notices[0].text
    assert OTHER not in transcript.peers
    assert [entry for entry in transcript.entries if isinstance(entry, Cell)] == []


def test_add_notice() -> None:
    transcript = Transcript(OWN)
    notice = transcript.add_notice("kernel restarted", "error")
    assert transcript.entries == [notice]
    _, changed = transcript.take_changes()
    assert changed == [notice]


# -- hostile content -----------------------------------------------------------------------


def _malformed() -> list[Msg]:
    request = other()
    probe = Request(_msg_id(), OWN, "me", "kernel_info_request")
    messages = [
        request.busy(),
        request.iopub("status", {"execution_state": None}),
        request.iopub("status", {"execution_state": ["busy"]}),
        request.iopub("execute_input", {"code": 5, "execution_count": "3"}),
        request.iopub("execute_input", {}),
        request.stream(123),
        request.stream(None),
        request.stream(["a", "b"]),
        request.stream(b"bytes"),
        request.stream("ok\n", name=None),
        request.stream("ok\n", name=["stdout"]),
        request.iopub("stream", {}),
        request.iopub("error", {"ename": None, "evalue": 3, "traceback": "not a list"}),
        request.iopub("error", {"traceback": None}),
        request.iopub("error", {"traceback": 5}),
        request.iopub("error", {"traceback": [1, None, {"a": 1}, "\x1b[6n"]}),
        request.iopub("error", {}),
        request.iopub("execute_result", {"data": "not a dict", "execution_count": "x"}),
        request.iopub("execute_result", {"data": {"text/plain": 5}, "metadata": []}),
        request.iopub("execute_result", {"data": {"text/plain": ["a\n", "b"]}}),
        request.iopub("execute_result", {"data": {"text/plain": None}}),
        request.iopub("display_data", {"data": {"image/png": "AAAA"}, "transient": "x"}),
        request.iopub("display_data", {"data": {}, "transient": {"display_id": ["x"]}}),
        request.iopub("display_data", {"data": {}, "transient": {"display_id": None}}),
        request.iopub("update_display_data", {"data": None, "transient": None}),
        request.iopub("update_display_data", {"transient": {"display_id": 7}}),
        request.iopub("update_display_data", {"data": [], "transient": {"display_id": "x"}}),
        request.iopub("clear_output", {"wait": "maybe"}),
        request.iopub("clear_output", {}),
        request.iopub("shutdown_reply", {"restart": "yes"}),
        request.iopub("comm_msg", {"data": None}),
        request.iopub("made_up_type", {"anything": object()}),
        request._make("shell", "execute_reply", {"status": None, "execution_count": "1"}),
        request._make("shell", "execute_reply", {}),
        probe.iopub("status", {"execution_state": 0}),
        request.idle(),
        Msg("iopub", "stream", "", {"name": "stdout", "text": "orphan\n"}),
        Msg("iopub", "status", "", {"execution_state": "idle"}),
        Msg("stdin", "input_request", "x", {"prompt": None}),
        Msg("", "", "", {}),
    ]
    raw: list[Any] = [
        {"header": None, "parent_header": "x", "content": "not a dict"},
        {"header": {"msg_type": "stream"}, "parent_header": {"msg_id": 5}, "content": []},
        {"header": {"msg_type": "status", "msg_id": None}, "content": None},
        {"header": "nope", "msg_type": 12, "metadata": "m"},
        {},
        {
            "header": {"msg_type": "stream", "msg_id": "m1"},
            "parent_header": {
                "msg_id": request.msg_id,
                "session": OTHER,
                "username": None,
                "msg_type": "execute_request",
            },
            "content": "a string, not a dict",
        },
    ]
    messages += [Msg.from_dict("iopub", item) for item in raw]
    return messages


def test_malformed_content_never_raises() -> None:
    transcript = Transcript(OWN, max_lines=10)
    for message in _malformed():
        transcript.apply(message)
    transcript.enforce_budget()
    transcript.apply_all(_malformed())
    removed, changed = transcript.take_changes()
    for entry in [*removed, *changed, *transcript.entries]:
        if isinstance(entry, Cell):
            for output in entry.outputs:
                if isinstance(output, StreamOutput):
                    assert all(isinstance(line, str) for line in output.lines)
                    assert isinstance(output.visible_partial, str)
                else:
                    text = output.text
                    assert isinstance(text, str)
                    assert "\x1b" not in SGR.sub("", text)
                    assert output.line_count >= 1
            assert isinstance(entry.line_count, int)


def test_from_dict_turns_odd_content_into_an_empty_dict() -> None:
    msg = Msg.from_dict("iopub", {"header": {"msg_type": "stream"}, "content": ["x"]})
    assert msg.content == {}
    assert msg.msg_type == "stream"
    assert msg.parent_id == ""


# -- take_changes --------------------------------------------------------------------------


def test_take_changes_returns_each_entry_once() -> None:
    transcript = Transcript(OWN)
    first, second = own(), other()
    transcript.add_own_cell(first.msg_id, "a", "me")
    feed(transcript, first.busy(), first.input("a"), second.busy(), second.input("b"))
    for index in range(20):
        feed(transcript, first.stream(f"{index}\n"), second.stream(f"{index}\n", "stderr"))
    feed(transcript, first.idle(), second.idle())
    removed, changed = transcript.take_changes()
    assert removed == []
    assert len(changed) == 2
    assert len({id(entry) for entry in changed}) == 2
    assert set(map(id, changed)) == {
        id(transcript.cells[first.msg_id]),
        id(transcript.cells[second.msg_id]),
    }
    assert transcript.take_changes() == ([], [])

    feed(transcript, first.update("nothing", "none"))
    _, changed = transcript.take_changes()
    assert changed == [transcript.cells[first.msg_id]]


def test_take_changes_after_a_late_message() -> None:
    transcript = Transcript(OWN)
    request = own()
    run_cell(transcript, request, "a")
    transcript.take_changes()
    feed(transcript, request.reply("aborted"))
    _, changed = transcript.take_changes()
    assert changed == [transcript.cells[request.msg_id]]


def test_an_emoji_split_across_chunks_keeps_its_joiner() -> None:
    stream = StreamOutput("stdout")
    stream.append("built by 👩\u200d")
    stream.append("💻 and 👩🏽\u200d")
    stream.append("🔬\n")
    assert stream.lines == ["built by 👩\u200d💻 and 👩🏽\u200d🔬"]


def test_a_held_joiner_goes_when_no_emoji_follows() -> None:
    stream = StreamOutput("stdout")
    stream.append("👩\u200d")
    stream.append("admin\n")
    stream.append("ad\u200d")  # not after an emoji: never held
    stream.append("💻\n")
    assert stream.lines == ["👩admin", "ad💻"]


# -- what arrived, kept for export --------------------------------------------------------


def test_a_cell_keeps_its_source_as_sent_and_shows_it_marked() -> None:
    transcript = Transcript(OWN)
    code = 'if level != "user\u202e":\r\n    pass\n'
    cell = run_cell(transcript, other(), code)
    assert cell.source == code
    assert cell.code is not None and "<U+202E>" in cell.code
    own_cell = transcript.add_own_cell("own-1", "x = '\u2066'\n", "me")
    assert own_cell.source == "x = '\u2066'\n"


def test_a_stream_keeps_its_raw_text_with_line_edits_and_escapes() -> None:
    transcript = Transcript(OWN)
    request = other()
    chunks = ["10%\r", "50%\r100%\n", "\x1b]0;title\x07\x1b[31mred\x1b[0m\n", "tail\b\bx"]
    cell = run_cell(transcript, request, "run()", *(request.stream(c) for c in chunks))
    (stream,) = stream_outputs(cell)
    assert stream.raw_text == "".join(chunks)
    assert stream.lines == ["100%", "\x1b[31mred\x1b[0m"]
    assert stream.raw_dropped_chars == 0


def test_scrollback_drops_raw_stream_text_with_its_lines_and_counts_it() -> None:
    transcript = Transcript(OWN, max_lines=10)
    request = own()
    chunks = ["".join(f"line {n}\n" for n in range(start, start + 4)) for start in (0, 4, 8)]
    chunks.append("line 12\nline 13\nline 14\npartial")
    cell = run_cell(transcript, request, "loop()", *(request.stream(c) for c in chunks))
    (stream,) = stream_outputs(cell)
    assert stream.dropped == 5
    assert stream.lines[0] == "line 5"
    sent = "".join(chunks)
    kept = sent[sent.index("line 5\n") :]
    assert stream.raw_text == kept
    assert stream.raw_dropped_chars == len(sent) - len(kept)


def test_an_unended_raw_line_is_bounded() -> None:
    from nbtui.app.kernel.model import RAW_TAIL_LIMIT  # noqa: PLC0415

    stream = StreamOutput("stdout")
    stream.append("done\n")
    bar = "\r" + "#" * 999
    for _ in range(2 * RAW_TAIL_LIMIT // len(bar)):
        stream.append(bar)
    assert len(stream.raw_text) <= RAW_TAIL_LIMIT + len(bar)
    assert stream.raw_text.startswith("done\n")
    assert stream.raw_dropped_chars == 2 * RAW_TAIL_LIMIT // len(bar) * len(bar) - (
        len(stream.raw_text) - len("done\n")
    )
    assert stream.visible_partial == "#" * 999


def test_outputs_keep_their_bundles_and_errors_as_they_came() -> None:
    transcript = Transcript(OWN)
    request = own()
    bundle = {"text/plain": "\x1b]0;t\x07x", "text/html": "<b>x</b>"}
    cell = run_cell(
        transcript,
        request,
        "show()",
        request.iopub(
            "display_data",
            {"data": bundle, "metadata": {"w": 1}, "transient": {"display_id": "d"}},
        ),
        request.iopub(
            "update_display_data",
            {"data": {"text/plain": "y"}, "metadata": {"w": 2}, "transient": {"display_id": "d"}},
        ),
        request.error(),
    )
    data, error = cell.outputs
    assert isinstance(data, DataOutput) and isinstance(error, ErrorOutput)
    assert data.data == {"text/plain": "y"} and data.metadata == {"w": 2}
    assert error.ename == "ZeroDivisionError"
    assert error.traceback[1] == "\x1b]0;title\x07Traceback line"


# -- absurd execution counts (issue 13, item 26e) ----------------------------------------


@pytest.mark.parametrize("count", [10**30, 10**9, -1, True])
def test_an_absurd_execution_count_is_unknown(count: int) -> None:
    """A 31-digit count made a 31-digit prompt: a count no kernel reaches is unknown."""
    transcript = Transcript(OWN)
    request = other()
    feed(
        transcript,
        request.busy(),
        request.input("x", count=count),
        request.result("1", count=count),
        request.idle(),
        request.reply("ok", count),
    )
    cell = transcript.cells[request.msg_id]
    assert cell.execution_count is None
    (output,) = cell.outputs
    assert isinstance(output, DataOutput)
    assert output.execution_count is None
    catchup = transcript.add_catchup([(count, "a"), (7, "b")])
    assert catchup is not None
    assert catchup.inputs == [(7, "b")]


@pytest.mark.parametrize("count", [0, 1, 999_999_999])
def test_a_plausible_execution_count_is_kept(count: int) -> None:
    transcript = Transcript(OWN)
    request = own()
    cell = run_cell(transcript, request, "x", request.result("1", count=count))
    assert cell.execution_count == count


# -- a running cell over budget (issue 13, item 24) ---------------------------------------


@pytest.mark.parametrize("kind", ["display", "error"])
def test_a_running_cell_over_budget_in_rich_outputs_makes_room_for_new_ones(kind: str) -> None:
    """A cell still running held more than the budget in displays (or errors); every later
    output, ours too, was trimmed away on arrival because nothing of it could go."""
    transcript = Transcript(OWN, max_lines=100)
    running = other()
    feed(transcript, running.busy(), running.input("flood()"))
    body = "\n".join(f"row {row}" for row in range(20))
    error = {"ename": "E", "evalue": "v", "traceback": body.split("\n")}
    rich = [running.display(body) if kind == "display" else running.iopub("error", error)] * 8
    feed(transcript, *rich)
    hog = transcript.cells[running.msg_id]
    assert transcript.busy
    mine = own()
    transcript.add_own_cell(mine.msg_id, "print", "me")
    feed(transcript, mine.busy(), mine.input("print"), mine.stream(_chunk(0, 30)), mine.idle())
    (stream,) = stream_outputs(transcript.cells[mine.msg_id])
    assert stream.dropped == 0
    assert stream.lines == [f"line {index}" for index in range(30)]
    assert kept_lines(transcript) <= 100
    assert transcript.stored_lines == kept_lines(transcript)
    assert transcript.stored_chars == kept_chars(transcript)
    # The oldest of the running cell's outputs went, counted exactly; it is still there.
    assert hog in transcript.entries
    assert hog.dropped_outputs + len(hog.outputs) == 8
    assert hog.dropped_outputs >= 1


def test_a_running_cell_keeps_trimming_its_own_oldest_rich_outputs() -> None:
    transcript = Transcript(OWN, max_lines=100)
    running = own()
    feed(transcript, running.busy(), running.input("loop"))
    body = "\n".join(str(row) for row in range(10))
    for index in range(50):
        feed(transcript, running.display(f"{index}\n{body}"))
        assert transcript.stored_lines <= 100
    cell = transcript.cells[running.msg_id]
    assert cell.dropped_outputs + len(cell.outputs) == 50
    last = cell.outputs[-1]
    assert isinstance(last, DataOutput)
    assert last.text.startswith("49\n")
    assert transcript.stored_lines == kept_lines(transcript)


def test_the_newest_rich_output_is_kept_whole_even_over_budget() -> None:
    transcript = Transcript(OWN, max_lines=10)
    running = own()
    feed(transcript, running.busy(), running.display("\n".join(map(str, range(50)))))
    cell = transcript.cells[running.msg_id]
    assert len(cell.outputs) == 1
    assert cell.dropped_outputs == 0


def test_clear_output_forgets_the_dropped_output_count() -> None:
    transcript = Transcript(OWN, max_lines=20)
    running = own()
    body = "\n".join(str(row) for row in range(10))
    feed(transcript, running.busy(), *[running.display(body) for _ in range(5)])
    cell = transcript.cells[running.msg_id]
    assert cell.dropped_outputs
    feed(transcript, running.clear(False))
    assert cell.dropped_outputs == 0
