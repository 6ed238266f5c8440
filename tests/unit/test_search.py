"""The transcript's search, alone: plain and regex queries, case, and incremental passes
over sources that grow, lose their front, change or go."""

from __future__ import annotations

from nbtui.app.kernel.search import (
    CHUNK_LINES,
    MAX_MATCHES,
    Hit,
    Query,
    SearchIndex,
    Source,
    compile_query,
    shown_text,
)


def spans(hits: list[Hit]) -> list[tuple[int, int, int]]:
    return [(hit.line, hit.start, hit.end) for hit in hits]


def test_plain_text_ignores_case_by_default_and_matches_case_when_asked() -> None:
    index = SearchIndex()
    lines = ["Epoch 1 loss", "no match", "epoch 2 EPOCH"]
    index.set_query(Query("epoch"))
    assert spans(index.search([Source("s", lines)])) == [(0, 0, 5), (2, 0, 5), (2, 8, 13)]
    index.set_query(Query("epoch", case=True))
    assert spans(index.search([Source("s", lines)])) == [(2, 0, 5)]


def test_plain_text_is_not_a_pattern_and_a_regex_is() -> None:
    index = SearchIndex()
    lines = ["a.c abc", "x+y"]
    index.set_query(Query("a.c"))
    assert spans(index.search([Source("s", lines)])) == [(0, 0, 3)]
    index.set_query(Query("a.c", regex=True))
    assert spans(index.search([Source("s", lines)])) == [(0, 0, 3), (0, 4, 7)]
    index.set_query(Query("x+y"))
    assert spans(index.search([Source("s", lines)])) == [(1, 0, 3)]


def test_a_bad_regex_is_an_error_not_an_exception_and_empty_matches_are_none() -> None:
    index = SearchIndex()
    index.set_query(Query("(unclosed", regex=True))
    assert index.error is not None and "bad regex" in index.error
    assert index.search([Source("s", ["(unclosed"])]) == []
    assert isinstance(compile_query(Query("[", regex=True)), str)
    index.set_query(Query("x*", regex=True))
    assert index.error is None
    assert spans(index.search([Source("s", ["ab", "xx"])])) == [(1, 0, 2)]
    assert compile_query(Query("")) is None


def test_colour_codes_and_tabs_are_searched_as_shown() -> None:
    assert shown_text("\x1b[31mred\x1b[0m\tx") == "red     x"
    index = SearchIndex()
    index.set_query(Query("red x"))
    assert index.search([Source("s", ["\x1b[31mred\x1b[0m x"])]) != []


def test_appended_lines_dropped_front_and_the_unfinished_line() -> None:
    index = SearchIndex()
    index.set_query(Query("tok"))
    stream: list[str] = [f"line {i}" for i in range(CHUNK_LINES + 10)]
    stream[5] = "tok here"
    source = Source(stream, stream, tail="partial tok")
    assert spans(index.search([source])) == [(5, 0, 3), (CHUNK_LINES + 10, 8, 11)]
    stream.extend(["more tok", "x"])
    source.tail = ""
    assert spans(index.search([source])) == [(5, 0, 3), (CHUNK_LINES + 10, 5, 8)]
    # The scrollback drops the first 6 lines: their match goes, the numbering stays.
    del stream[:6]
    source.first = 6
    assert spans(index.search([source])) == [(CHUNK_LINES + 10, 5, 8)]


def test_a_new_version_or_owner_is_searched_afresh_and_gone_sources_forgotten() -> None:
    index = SearchIndex()
    index.set_query(Query("b"))
    made = []

    def rows() -> list[str]:
        made.append(1)
        return ["abc"]

    owner = object()
    assert spans(index.search([Source(owner, rows, version=80)])) == [(0, 1, 2)]
    index.search([Source(owner, rows, version=80)])
    assert len(made) == 1  # the rows of one version are made once
    index.search([Source(owner, lambda: ["xb"], version=100)])
    assert spans(index.search([Source(owner, lambda: ["xb"], version=100)])) == [(0, 1, 2)]
    index.search([])
    assert not index._cache


def test_matches_are_capped() -> None:
    index = SearchIndex()
    index.set_query(Query("a"))
    hits = index.search([Source("s", ["a" * 100] * (MAX_MATCHES // 50))])
    assert len(hits) == MAX_MATCHES and index.more


def test_a_regex_ignoring_case_means_the_same_lowercased_or_not() -> None:
    lines = ["Epoch 12 LOSS", "epoch x loss", "EPOCH_3"]
    for pattern, expected in [
        (r"epoch \d+ loss", [(0, 0, 13)]),
        (r"[A-Z]+_\d", [(2, 0, 7)]),
        (r"\W\d", [(0, 5, 7)]),  # \W would change lowercased: searched as it is
        (r"(epoch) \w \1", []),
    ]:
        index = SearchIndex()
        index.set_query(Query(pattern, regex=True))
        assert spans(index.search([Source("s", lines)])) == expected, pattern
