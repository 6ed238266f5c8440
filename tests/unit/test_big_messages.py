"""A big stream message decoded in pieces gives back exactly its text (issue 19)."""

from __future__ import annotations

import json
import random
import re

import orjson
import pytest

from nbtui.app.kernel.transports import big_messages
from nbtui.app.kernel.transports.big_messages import stream_pieces

TEXTS = [
    "x" * 1000 + "\n",
    'héllo wörld \\ "quoted" \n\t\x1b[31mred\x1b[0m\n' * 20 + "é" * 300,
    "a\\" * 200,
    "\u2603" * 500 + "\n" * 3,
    "😀\\" * 300,
    "😀" * 100,
    "\\\\n" * 100,
]


def packers() -> list[object]:
    """ipykernel packs with orjson when it has it, else json (ASCII-escaped or not)."""
    return [
        orjson.dumps,
        lambda value: json.dumps(value, ensure_ascii=False).encode(),
        lambda value: json.dumps(value).encode(),
    ]


@pytest.mark.parametrize("piece", [3, 7, 50])
def test_pieces_join_to_the_text_whatever_escapes_they_cut(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(big_messages, "PIECE", piece)
    shuffle = random.Random(19)
    alphabet = 'ab\\\n"é😀\u2603\x1b\t'
    texts = TEXTS + [
        "".join(shuffle.choice(alphabet) for _ in range(shuffle.randint(50, 400)))
        for _ in range(100)
    ]
    for text in texts:
        for pack, as_view in [(pack, as_view) for pack in packers() for as_view in (0, 1)]:
            content: bytes = pack({"name": "stderr", "text": text})  # type: ignore[operator]
            # The pump hands a large part over as a memoryview of libzmq's message.
            split = stream_pieces(memoryview(content) if as_view else content)
            assert split is not None
            name, pieces = split
            taken = list(pieces)
            assert name == "stderr"
            assert "".join(taken) == text
            assert len(taken) > 1


def test_content_laid_out_otherwise_is_decoded_whole() -> None:
    assert stream_pieces(b'{"text": "a", "name": "stdout"}') is None
    assert stream_pieces(b'{"name": "stdout", "text": "a", "extra": 1}') is None
    assert stream_pieces(b"not json") is None


def test_a_piece_that_is_not_json_fails_as_a_value_error() -> None:
    # The transport counts it as malformed; the reader lives on.
    split = stream_pieces(b'{"name": "stdout", "text": "ok\\q"}')
    assert split is not None
    with pytest.raises(ValueError):
        list(split[1])


def test_a_long_line_is_cut_into_pieces_no_longer_than_a_piece(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A flushed megabyte line came whole in one piece: the event loop decoded a
    # megabyte at once, for each line of a burst.
    monkeypatch.setattr(big_messages, "PIECE", 1000)
    text = "x" * 20_000 + "\n"
    split = stream_pieces(orjson.dumps({"name": "stdout", "text": text}))
    assert split is not None
    taken = list(split[1])
    assert "".join(taken) == text
    assert max(map(len, taken)) <= 1000
    assert len(taken) == 21


@pytest.mark.parametrize("packer", packers())
def test_a_colour_code_is_never_cut_in_two(packer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(big_messages, "PIECE", 200)
    shuffle = random.Random(7)
    words = ["\x1b[31m", "\x1b[1;38;2;10;20;30m", "\x1b[0m", "word", "é", "😀", "  "]
    text = "".join(shuffle.choice(words) for _ in range(5000))
    split = stream_pieces(packer({"name": "stdout", "text": text}))  # type: ignore[operator]
    assert split is not None
    taken = list(split[1])
    assert "".join(taken) == text
    assert len(taken) > 10
    for piece in taken:
        # Every escape in a piece is whole: none is left open at its end.
        assert re.fullmatch(r"(?:[^\x1b]|\x1b\[[0-9;]*m)*", piece), piece[-30:]
