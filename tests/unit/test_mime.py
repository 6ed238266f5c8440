"""Mime bundles, tracebacks and long outputs rendered by nbtui.widgets.mime.

Each renderable is printed on a recording Rich console as the transcript would draw it, and
the test reads the exported text. Hostile escape sequences are embedded in every type: the
export with styles may hold SGR and nothing else.
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from rich.console import Console, RenderableType

from nbtui.app.kernel.model import is_default_repr
from nbtui.widgets import graphics, images
from nbtui.widgets.images import KEPT_IMAGE_SIZE, Picture
from nbtui.widgets.mime import (
    IMAGE_MIMES,
    REGISTRY,
    RICHER,
    picture_of,
    render_data,
    render_html_bundle,
    render_traceback,
    shows_html,
)
from nbtui.widgets.output_policy import clip_line, clip_markdown, clip_output

SGR = re.compile(r"\x1b\[[0-9;:]*m")

HOSTILE = {
    "osc52": "\x1b]52;c;aGVsbG8=\x07",
    "title": "\x1b]0;pwned-title\x07",
    "dsr": "\x1b[6n",
    "ris": "\x1bc",
    "c1_csi": "\x9b6n",
    "dcs": "\x1bPq#0;2;0;0;0#0~~\x1b\\",
    "alt_screen": "\x1b[?1049h",
    "bel_osc_then_st": "\x1b]0;half\x07kept\x1b\\",
}
"""What a program in the kernel can print to attack the terminal."""

EVERY_ESCAPE = "".join(HOSTILE.values())
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_C1 = re.compile(r"[\x80-\x9f]")


def show(renderable: RenderableType, width: int = 80) -> tuple[str, str]:
    """(plain text, text with styles) of a renderable on an 80-column truecolor console."""
    console = Console(
        record=True, width=width, force_terminal=True, color_system="truecolor", file=io.StringIO()
    )
    console.print(renderable)
    styled = console.export_text(styles=True, clear=False)
    return console.export_text(styles=False), styled


def assert_only_sgr(styled: str) -> None:
    """Nothing but SGR escapes and no C0/C1 control but newline reaches the terminal."""
    rest = _SGR.sub("", styled)
    assert "\x1b" not in rest, repr(rest)
    assert _C1.search(rest) is None, repr(rest)
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f]", rest) is None, repr(rest)
    # Payloads of the sequences: gone with them, not left behind as text.
    for payload in ("aGVsbG8=", "pwned-title", "1049", "#0;2;0", "half"):
        assert payload not in rest, payload


def png(width: int, height: int, colour: tuple[int, int, int], kind: str = "PNG") -> str:
    from PIL import Image  # noqa: PLC0415

    picture = Image.new("RGB", (width, height), colour)
    buffer = io.BytesIO()
    picture.save(buffer, kind)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# -- one test per mimetype -----------------------------------------------------------------


def test_markdown_is_rendered_without_links() -> None:
    plain, styled = show(
        render_data(
            {
                "text/markdown": "# Title\n\nSome **bold** and [a link](https://example.com).\n\n"
                "- one\n- two\n",
                "text/plain": "<Markdown>",
            },
            {},
            80,
        )
    )
    assert "Title" in plain
    assert "**" not in plain  # rendered, not shown as source
    assert "• one" in plain
    assert "https://example.com" in plain  # shown as text, since hyperlinks are off
    assert "\x1b]8;" not in styled  # no OSC 8 hyperlink
    assert "<Markdown>" not in plain


def test_markdown_markup_is_not_interpreted() -> None:
    plain, _ = show(render_data({"text/markdown": "[bold red]not markup[/bold red]"}, {}, 80))
    assert "[bold red]not markup[/bold red]" in plain


def test_json_is_pretty_printed() -> None:
    plain, _ = show(
        render_data(
            {
                "application/json": {"name": "nbtui", "n": [1, 2]},
                "text/plain": "<IPython.core.display.JSON object>",
            },
            {},
            80,
        )
    )
    assert '"name": "nbtui"' in plain
    assert plain.splitlines()[0] == "{"
    assert "IPython" not in plain


def test_json_sent_as_a_string_is_parsed() -> None:
    plain, _ = show(render_data({"application/json": '{"a": 1}'}, {}, 80))
    assert '"a": 1' in plain


def test_long_json_is_folded() -> None:
    document = {f"key{i}": i for i in range(100)}
    plain, _ = show(render_data({"application/json": document}, {}, 80))
    lines = plain.rstrip("\n").splitlines()
    total = len(json.dumps(document, indent=2).splitlines())
    assert lines[-1] == f"… {total - 30} more lines"
    assert len(lines) == 31
    assert '"key0": 0' in plain
    assert '"key99"' not in plain


def test_folded_json_head_and_count_match_the_whole_dump() -> None:
    # Nested and empty containers: the count is made without dumping the document.
    document = {
        "rows": [{"id": i, "tags": [], "meta": {"a": [i, {}]}} for i in range(50)],
        "empty": {},
        "last": [[]],
    }
    plain, _ = show(render_data({"application/json": document}, {}, 80))
    whole = json.dumps(document, indent=2).splitlines()
    lines = plain.rstrip("\n").splitlines()
    assert lines[:30] == whole[:30]
    assert lines[-1] == f"… {len(whole) - 30} more lines"


def test_deeply_nested_json_is_folded_not_a_recursion_error() -> None:
    document: list[object] = []
    inner = document
    for _ in range(990):  # below what the message decoder accepts (1024)
        inner.append([])
        inner = inner[0]  # type: ignore[assignment]
    plain, _ = show(render_data({"application/json": document}, {}, 80))
    assert plain.rstrip("\n").splitlines()[-1] == f"… {990 * 2 + 1 - 30} more lines"
    # Sent as a string, it may be too deep to parse here: then it shows as text.
    plain, _ = show(render_data({"application/json": "[" * 991 + "]" * 991}, {}, 80))
    assert plain.startswith("[")


def test_latex_source_is_set_apart() -> None:
    plain, styled = show(
        render_data(
            {
                "text/latex": r"$$\int_0^1 x\,dx$$",
                "text/plain": "<IPython.core.display.Math object>",
            },
            {},
            80,
        )
    )
    assert "LaTeX" in plain
    assert r"$$\int_0^1 x\,dx$$" in plain
    assert "\x1b[2m" in styled  # dim
    assert "IPython" not in plain


def test_html_shows_plain_text_with_a_note() -> None:
    plain, _ = show(
        render_data(
            {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "   a\n0  1"}, {}, 80
        )
    )
    assert "   a\n0  1" in plain
    assert "(HTML output; showing text/plain)" in plain
    assert "<table>" not in plain


def test_html_that_shows_nothing_is_a_placeholder() -> None:
    # A plot that only a script draws: nothing of it reads as text.
    source = "<div id='plot'></div><script>" + "draw();" * 143 + "</script>"
    plain, _ = show(render_data({"text/html": source}, {}, 80))
    assert plain.strip() == "<text/html, 1 KiB>"


def test_plain_text_keeps_colours() -> None:
    plain, styled = show(render_data({"text/plain": "\x1b[31mred\x1b[0m text"}, {}, 80))
    assert plain.strip() == "red text"
    assert "\x1b[31mred" in styled


def test_plain_text_as_a_list_of_lines() -> None:
    plain, _ = show(render_data({"text/plain": ["one\n", "two"]}, {}, 80))
    assert plain.strip() == "one\ntwo"


def test_widget_shows_its_plain_text() -> None:
    bundle = {
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
        "text/plain": "IntSlider(value=3)",
    }
    plain, _ = show(render_data(bundle, {}, 80))
    assert plain.strip() == "IntSlider(value=3)"


def test_widget_without_plain_text_is_a_placeholder() -> None:
    bundle = {"application/vnd.jupyter.widget-view+json": {"model_id": "abc"}}
    plain, _ = show(render_data(bundle, {}, 80))
    assert plain.startswith("<application/vnd.jupyter.widget-view+json, ")


def test_unknown_type_is_one_placeholder_line() -> None:
    plain, _ = show(render_data({"image/svg+xml": "x" * 12595}, {}, 80))
    assert plain == "<image/svg+xml, 12 KiB>\n"


def test_unknown_type_with_plain_text_shows_it() -> None:
    plain, _ = show(render_data({"image/svg+xml": "<svg/>", "text/plain": "<Figure>"}, {}, 80))
    assert plain.strip() == "<Figure>"


@pytest.mark.parametrize("kind", ["image/png", "image/jpeg"])
def test_image_is_half_blocks_sized_to_width(kind: str) -> None:
    pytest.importorskip("PIL")
    data = png(200, 100, (255, 0, 0), "PNG" if kind == "image/png" else "JPEG")
    plain, styled = show(render_data({kind: data, "text/plain": "<Figure>"}, {}, 40))
    lines = plain.rstrip("\n").splitlines()
    assert lines == ["▀" * 40] * 10  # 200x100 px at 40 columns: 20 pixel rows, 2 per row
    assert "48;2;" in styled  # truecolour background: the lower pixel
    assert "<Figure>" not in plain


def test_image_is_never_wider_than_the_console() -> None:
    pytest.importorskip("PIL")
    plain, _ = show(render_data({"image/png": png(100, 10, (0, 0, 255))}, {}, 200), width=30)
    assert {len(line) for line in plain.rstrip("\n").splitlines()} == {30}


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_big_image_is_kept_small_and_drawn_as_before(kind: str) -> None:
    # 4000x3000 px holds 36 MB decoded; no terminal draws more than KEPT_IMAGE_SIZE.
    pytest.importorskip("PIL")
    picture = render_data({"image/png": png(4000, 3000, (0, 128, 0), kind)}, {}, 80)
    assert isinstance(picture, Picture)
    kept_width, kept_height = picture.picture.size
    assert kept_width <= KEPT_IMAGE_SIZE[0] and kept_height <= KEPT_IMAGE_SIZE[1]
    plain, _ = show(picture)
    assert plain.rstrip("\n").splitlines() == ["▀" * 80] * 30  # 80 columns, 60 pixel rows


@pytest.mark.parametrize(("size", "width"), [((200, 100), 40), ((30, 500), 80), ((5000, 7), 120)])
def test_an_image_knows_its_rows_before_it_is_decoded(size: tuple[int, int], width: int) -> None:
    pytest.importorskip("PIL")
    image = Picture.from_data(png(*size, (9, 9, 9)), 1000)
    assert image is not None
    rows = image.rows(width)
    plain, _ = show(image, width=width)
    assert len(plain.rstrip("\n").splitlines()) == rows


def test_broken_image_falls_back_to_plain_text() -> None:
    plain, _ = show(
        render_data({"image/png": "bm90IGFuIGltYWdl", "text/plain": "<Figure>"}, {}, 80)
    )
    assert plain.strip() == "<Figure>"


def test_broken_image_alone_is_a_placeholder() -> None:
    plain, _ = show(render_data({"image/png": "bm90IGFuIGltYWdl"}, {}, 80))
    assert plain.strip() == "<image/png, 16 B>"


# -- hostile escapes -----------------------------------------------------------------------


def _bundles(payload: str) -> list[dict[str, Any]]:
    return [
        {
            "text/markdown": f"# Head {payload}\n\ntext {payload} `code {payload}`\n\n"
            f"```python\nx = '{payload}'\n```\n"
        },
        {"application/json": {f"key{payload}": [payload, {"deep": payload}]}},
        {"application/json": json.dumps({"k": payload})},
        {"text/latex": f"$$x {payload}$$"},
        {"text/html": f"<b>{payload}</b>", "text/plain": f"plain {payload}"},
        {
            "text/html": f"<h1>{payload}</h1><p>{payload}<a href='{payload}'>a</a></p>"
            f"<table><tr><th>{payload}</th></tr><tr><td>{payload}</td></tr></table>"
            f"<pre>{payload}</pre><img alt='{payload}'>",
            "text/plain": "<IPython.core.display.HTML object>",
        },
        {"text/plain": f"before {payload} after"},
        {"application/vnd.jupyter.widget-view+json": {}, "text/plain": f"w {payload}"},
        {f"application/x-{payload}": payload},
    ]


@pytest.mark.parametrize("name", [*HOSTILE, "all"])
def test_no_escape_survives_in_any_type(name: str) -> None:
    payload = EVERY_ESCAPE if name == "all" else HOSTILE[name]
    for bundle in _bundles(payload):
        _, styled = show(render_data(bundle, {}, 80))
        assert_only_sgr(styled)


def test_text_after_a_bel_terminated_osc_is_kept() -> None:
    plain, _ = show(render_data({"text/plain": "A" + HOSTILE["bel_osc_then_st"] + "B"}, {}, 80))
    assert plain.strip() == "AkeptB"


def test_traceback_with_escapes_keeps_only_sgr() -> None:
    lines = [f"\x1b[0;31mframe {i}\x1b[0m {EVERY_ESCAPE}" for i in range(5)]
    for folded in (True, False):
        _, styled = show(render_traceback([*lines, "Error: x" + EVERY_ESCAPE], folded))
        assert_only_sgr(styled)


# -- tracebacks ----------------------------------------------------------------------------

IPYTHON_TRACEBACK = [
    "\x1b[0;31m" + "-" * 75 + "\x1b[0m",
    "\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback (most recent call last)",
    *(f"Cell \x1b[0;32mIn[1], line {i}\x1b[0m\n      1 frame body {i}" for i in range(1, 7)),
    "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero",
]


def test_folded_traceback_shows_last_frames_and_error() -> None:
    plain, styled = show(render_traceback(IPYTHON_TRACEBACK, folded=True))
    assert "Traceback (most recent call last)" in plain
    assert "… 3 earlier frames (F7 to unfold)" in plain
    assert "frame body 3" not in plain
    assert all(f"frame body {i}" in plain for i in (4, 5, 6))
    assert plain.rstrip("\n").splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert "\x1b[31mZeroDivisionError" in styled  # colours kept


def test_unfolded_traceback_shows_every_frame() -> None:
    plain, _ = show(render_traceback(IPYTHON_TRACEBACK, folded=False))
    assert "earlier frame" not in plain
    assert all(f"frame body {i}" in plain for i in range(1, 7))


def test_folded_traceback_with_few_frames_hides_nothing() -> None:
    plain, _ = show(render_traceback(IPYTHON_TRACEBACK[:4] + IPYTHON_TRACEBACK[-1:], True))
    assert "earlier" not in plain
    assert "frame body 2" in plain


def test_folded_traceback_keep_one_says_frames() -> None:
    plain, _ = show(render_traceback(IPYTHON_TRACEBACK, folded=True, keep=1))
    assert "… 5 earlier frames (F7 to unfold)" in plain
    plain, _ = show(render_traceback(IPYTHON_TRACEBACK[:4] + IPYTHON_TRACEBACK[-1:], True, 1))
    assert "… 1 earlier frame (F7 to unfold)" in plain


def test_empty_traceback() -> None:
    plain, _ = show(render_traceback([], folded=True))
    assert plain.strip() == ""


# -- clipping ------------------------------------------------------------------------------


def test_clip_output_keeps_short_text() -> None:
    assert clip_output("a\nb\nc\n", 3) == ("a\nb\nc\n", 0)


def test_clip_output_keeps_head_and_tail() -> None:
    text = "\n".join(str(i) for i in range(100))
    kept, held = clip_output(text, 10)
    assert held == 90
    assert kept.split("\n") == ["0", "1", "2", "3", "4", "95", "96", "97", "98", "99"]


def test_clip_output_odd_limit_and_final_newline() -> None:
    text = "".join(f"{i}\n" for i in range(10))
    assert clip_output(text, 3) == ("0\n1\n9\n", 7)


def test_clip_markdown_keeps_a_short_document() -> None:
    assert clip_markdown("# a\n\ntext", 3) is None


def test_clip_markdown_without_blank_lines_cuts_at_the_limit() -> None:
    source = "\n".join(f"- {i}" for i in range(100))
    head, held, tail = clip_markdown(source, 10) or ("", 0, "")
    assert (head.split("\n"), held, tail.split("\n")) == (
        ["- 0", "- 1", "- 2", "- 3", "- 4"],
        90,
        ["- 95", "- 96", "- 97", "- 98", "- 99"],
    )


def test_clip_markdown_cuts_between_blocks_and_never_inside_a_fence() -> None:
    # Blank lines every 4 lines; a fence whose blank lines span both natural cut points.
    lines = [f"para {i}" if i % 4 else "" for i in range(200)]
    lines[30:50] = ["```"] + [""] * 18 + ["```"]
    lines[150:170] = ["```"] + [""] * 18 + ["```"]
    head, held, tail = clip_markdown("\n".join(lines), 100) or ("", 0, "")
    head_lines, tail_lines = head.split("\n"), tail.split("\n")
    assert len(head_lines) + held + len(tail_lines) == 200
    assert head_lines.count("```") % 2 == 0 and tail_lines.count("```") % 2 == 0
    assert 25 <= len(head_lines) <= 50 and 25 <= len(tail_lines) <= 50
    assert tail_lines[0] == ""


def test_clip_output_zero_lines() -> None:
    assert clip_output("a\nb", 0) == ("", 2)


def test_clip_line_keeps_a_short_line() -> None:
    assert clip_line("x" * 100, 100) is None


def test_clip_line_counts_what_it_holds_back() -> None:
    line = "".join(str(index % 10) for index in range(5_000_003))
    clip = clip_line(line, 1001)
    assert clip is not None
    head, held, tail = clip
    assert (len(head), held, len(tail)) == (501, 5_000_003 - 1001, 500)
    assert line.startswith(head) and line.endswith(tail)


def test_clip_line_never_splits_a_colour_and_counts_only_characters() -> None:
    line = "\x1b[31m" + "a" * 50 + "\x1b[1;32m" + "b" * 50 + "\x1b[0m" + "c" * 50
    for limit in range(2, 120):
        clip = clip_line(line, limit)
        assert clip is not None
        head, held, tail = clip
        for part in (head, tail):
            assert "\x1b" not in SGR.sub("", part), (limit, part)
            assert not re.match(r"[0-9;]*m", part) or part.startswith("\x1b"), (limit, part)
        shown = len(SGR.sub("", head)) + len(SGR.sub("", tail))
        assert shown + held == 150, limit


# -- the registry ---------------------------------------------------------------------------


def test_the_registry_holds_every_type_once_in_preference_order() -> None:
    order = [entry.mimetype for entry in REGISTRY]
    assert order == [
        "image/png",
        "image/jpeg",
        "text/markdown",
        "application/json",
        "text/latex",
        "application/vnd.jupyter.widget-view+json",
        "text/html",
        "text/plain",
    ]
    assert len(set(order)) == len(order)


def test_richer_than_plain_and_the_pictures_are_read_from_the_registry() -> None:
    assert RICHER == ("text/markdown", "application/json", "text/latex")
    assert IMAGE_MIMES == ("image/png", "image/jpeg")


def test_render_data_draws_with_the_first_registered_type_it_holds() -> None:
    bundle = {"text/plain": "plain", "text/latex": "$x$", "application/json": {"k": 1}}
    plain, _ = show(render_data(bundle, {}, 80))
    assert '"k": 1' in plain and "$x$" not in plain
    del bundle["application/json"]
    plain, _ = show(render_data(bundle, {}, 80))
    assert "$x$" in plain and "plain" not in plain


def test_an_image_that_does_not_decode_passes_to_the_next_type() -> None:
    bundle = {"image/png": "bm90IGEgcG5n", "text/plain": "<Figure>"}
    plain, _ = show(render_data(bundle, {}, 80))
    assert plain.strip() == "<Figure>"


# -- HTML shown as text ----------------------------------------------------------------------

HTML_OBJECT = "<IPython.core.display.HTML object>"

FRAME_HTML = """<table border="1" class="dataframe">
  <thead>
    <tr style="text-align: right;">
      <th></th>
      <th>count</th>
      <th>name</th>
    </tr>
  </thead>
  <tbody>
    <tr>
      <th>0</th>
      <td>1</td>
      <td>apple</td>
    </tr>
    <tr>
      <th>1</th>
      <td>22.5</td>
      <td>kiwi</td>
    </tr>
  </tbody>
</table>"""
"""What `df.to_html()` (and a pandas Styler, which sends only HTML) looks like."""


def _html(source: str, width: int = 80) -> str:
    bundle = {"text/html": source, "text/plain": HTML_OBJECT}
    plain, styled = show(render_data(bundle, {}, width), width)
    assert_only_sgr(styled)
    return plain


def _rows(plain: str) -> list[str]:
    return [line.strip() for line in plain.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("plain", "default"),
    [
        (HTML_OBJECT, True),
        ("<pandas.io.formats.style.Styler at 0x7f3a2c1d5e50>", True),
        ("<__main__.Report object at 0x7F00AB>", True),
        ("", True),
        ("   a\n0  1", False),
        ("<b>x</b>", False),
        ("'<IPython.core.display.HTML object>' and more", False),
    ],
)
def test_a_default_repr_is_told_from_a_real_one(plain: str, default: bool) -> None:
    assert is_default_repr(plain) is default


def test_html_with_a_default_repr_is_shown_as_text() -> None:
    plain = _html(
        "<h2>Results &amp; notes</h2><p>Plain, <b>bold</b> and <i>italic</i>"
        " &lt;tag&gt; caf&eacute;&nbsp;&#8364;<br>second line</p>"
        "<p>See <a href='https://example.org/doc'>the docs</a> or"
        " <a href='https://example.org'>https://example.org</a>.</p>"
    )
    rows = _rows(plain)
    assert rows[:4] == [
        "Results & notes",
        "Plain, bold and italic <tag> café\xa0€",
        "second line",
        "See the docs (https://example.org/doc) or https://example.org.",
    ]
    assert HTML_OBJECT not in plain
    assert "<b>" not in plain


def test_html_bold_italic_and_heading_are_styles_not_colours() -> None:
    _, styled = show(render_data({"text/html": "<h1>T</h1><p><b>B</b> <i>I</i></p>"}, {}, 80))
    assert "\x1b[1;4mT" in styled  # a first-level heading: bold, underlined
    assert "\x1b[1mB" in styled
    assert "\x1b[3mI" in styled
    assert "38;" not in styled  # no colour picked here


def test_html_lists_pre_and_rules() -> None:
    plain = _html(
        "<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        "<pre>\ndef f():\n    return  1\n</pre><hr><p>end</p>"
    )
    lines = [line.rstrip() for line in plain.splitlines()]
    assert "• one" in lines
    assert "• two" in lines
    assert "  • nested" in lines
    assert "1. first" in lines
    assert "2. second" in lines
    assert "def f():" in lines
    assert "    return  1" in lines  # preformatted: spaces kept
    assert any(set(line) == {"─"} for line in lines)
    assert lines[-1] == "end"


def test_html_scripts_styles_and_titles_are_dropped() -> None:
    plain = _html(
        "<html><head><title>T1TLE</title><style>p { color: red }</style></head><body>"
        "<script>var x = '<p>SCRIPT</p>';</script><p>shown</p>"
        "<svg><text>SVGTEXT</text></svg><template>TPL</template></body></html>"
    )
    assert _rows(plain) == ["shown"]


def test_an_html_table_is_a_table() -> None:
    plain = _html(FRAME_HTML)
    rows = _rows(plain)
    assert re.fullmatch(r"count\s+name", rows[0])
    assert set(rows[1]) == {"─"}
    assert re.fullmatch(r"0\s+1\s+apple", rows[2])
    assert re.fullmatch(r"1\s+22\.5\s+kiwi", rows[3])
    # Numbers are right-aligned, as pandas shows them.
    lines = plain.splitlines()
    assert lines[2].index("1 ") + 1 == lines[3].index("22.5") + 4


@pytest.mark.parametrize("cell", ["1", "one<br>two"])  # drawn directly, and by Rich
def test_an_html_tables_caption_is_its_title(cell: str) -> None:
    plain = _html(
        f"<table><caption>K &amp; V</caption><tr><th>k</th><th>v</th></tr>"
        f"<tr><td>a</td><td>{cell}</td></tr></table>"
    )
    rows = _rows(plain)
    assert rows[0] == "K & V"
    assert re.fullmatch(r"k\s+v", rows[1])


def test_an_html_table_honours_spans() -> None:
    # A pandas MultiIndex: the outer label spans rows, a group header spans columns.
    plain = _html(
        "<table><thead><tr><th></th><th></th><th colspan='2'>group</th></tr>"
        "<tr><th></th><th></th><th>x</th><th>y</th></tr></thead><tbody>"
        "<tr><th rowspan='2'>A</th><th>a</th><td>1</td><td>2</td></tr>"
        "<tr><th>b</th><td>3</td><td>4</td></tr></tbody></table>"
    )
    rows = _rows(plain)
    assert rows[0] == "group"
    assert re.fullmatch(r"x\s+y", rows[1])
    assert re.fullmatch(r"A\s+a\s+1\s+2", rows[3])
    assert re.fullmatch(r"b\s+3\s+4", rows[4])
    lines = plain.splitlines()
    assert lines[0].index("group") + 4 == lines[1].index("x")  # numbers: to the right
    assert lines[3].index("a ") == lines[4].index("b ")  # b sits under a, not under A


def test_a_hostile_span_does_not_make_a_million_cells() -> None:
    plain = _html("<table><tr><td colspan='1000000' rowspan='99999'>x</td></tr></table>")
    rows = _rows(plain)
    assert len(rows) == 1
    assert re.fullmatch(r"x\s+…", rows[0])


def test_a_wide_table_shows_the_columns_that_fit_and_counts_the_rest() -> None:
    head = "".join(f"<th>column{n}</th>" for n in range(30))
    cells = "".join(f"<td>{n}</td>" for n in range(30))
    for width in (80, 40):
        plain = _html(f"<table><tr>{head}</tr><tr>{cells}</tr></table>", width)
        rows = _rows(plain)
        assert re.match(r"column0\s+column1\s", rows[0])
        assert re.search(r"column\d+\s+… \d+ more$", rows[0])
        shown = int(re.search(r"… (\d+) more", rows[0]).group(1))  # type: ignore[union-attr]
        assert rows[0].count("column") == 30 - shown
        assert max(len(line) for line in plain.splitlines()) <= width


def test_escapes_written_as_entities_are_removed_after_decoding() -> None:
    entities = "&#27;]52;c;aGVsbG8=&#7; &#x1b;[6n &#x9b;6n &#27;c &#27;[31mred&#27;[0m"
    source = f"<p>{entities}</p><table><tr><td>{entities}</td></tr></table>"
    plain, styled = show(render_data({"text/html": source}, {}, 80))
    # Left as harmless text (as a browser shows them), without their ESC.
    assert "]52;c;aGVsbG8=" in plain
    assert "[31mred[0m" in plain
    rest = SGR.sub("", styled)
    assert "\x1b" not in rest
    assert _C1.search(rest) is None
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f]", rest) is None


def test_a_real_plain_text_wins_over_html() -> None:
    data = {"text/html": FRAME_HTML, "text/plain": "   count  name\n0      1  apple"}
    assert not shows_html(data)
    plain, _ = show(render_data(data, {}, 80))
    assert "0      1  apple" in plain
    assert "(HTML output; showing text/plain)" in plain


def test_html_after_a_richer_type_is_not_shown() -> None:
    assert not shows_html({"text/html": "<b>x</b>", "text/markdown": "*x*"})
    assert shows_html({"text/html": "<b>x</b>"})
    assert shows_html({"text/html": "<b>x</b>", "text/plain": "<x.Styler at 0x1f>"})


def test_a_huge_html_table_is_cut_before_it_is_laid_out() -> None:
    rows = "".join(f"<tr><th>{i}</th><td>{2 * i}</td></tr>\n" for i in range(100_000))
    source = f"<table><thead><tr><th></th><th>double</th></tr></thead><tbody>{rows}</tbody></table>"
    shown, clipped = render_html_bundle({"text/html": source}, max_blocks=100)
    assert clipped
    plain, _ = show(shown)
    lines = _rows(plain)
    # 100 of the document's 100,002 row and table starts are kept: the table, its
    # header row, 48 rows at the head and 50 at the tail.
    assert lines[-1] == "… 99,902 table rows held back"
    marker = next(at for at, line in enumerate(lines) if re.fullmatch(r"…\s+…", line))
    assert re.fullmatch(r"47\s+94", lines[marker - 1])
    assert re.fullmatch(r"99950\s+199900", lines[marker + 1])
    assert re.fullmatch(r"99999\s+199998", lines[-2])
    assert len(lines) == 2 + 48 + 1 + 50 + 1


def test_long_html_paragraphs_and_pre_blocks_are_clipped() -> None:
    pre = "\n".join(f"line {i}" for i in range(1000))
    shown, clipped = render_html_bundle(
        {"text/html": f"<p>{'w' * 50_000}</p><pre>{pre}</pre>"}, max_blocks=10, max_chars=1000
    )
    assert clipped
    plain, _ = show(shown)
    assert "… 49,000 characters held back" in plain
    assert "… 990 lines held back" in plain
    assert "line 4\n" in plain
    assert "line 995\n" in plain
    assert "line 500\n" not in plain


def test_a_flood_of_inline_tags_is_cut_too() -> None:
    # A coloured log converted to HTML: one <pre>, a span per line, no block to cut at.
    spans = "".join(f"<span style='color: red'>line {i}</span>\n" for i in range(30_000))
    shown, clipped = render_html_bundle({"text/html": f"<pre>{spans}</pre>"}, max_blocks=20)
    assert clipped
    plain, _ = show(shown)
    # 20 of the <pre> and its 30,000 spans are kept: the <pre>, 9 spans, and 10.
    assert _rows(plain) == [
        *(f"line {i}" for i in range(9)),
        "… 29,981 tags held back",
        *(f"line {i}" for i in range(29_990, 30_000)),
    ]


DA1_SIXEL = "\x1b[?62;4;22c"
"""A terminal's primary device attributes with 4: it draws sixel."""

TMUX = "/tmp/tmux-0/default,1,0"


@pytest.mark.parametrize(
    ("environ", "attributes", "mode"),
    [
        ({"TERM": "xterm-kitty"}, None, "kitty"),
        ({"TERM": "tmux-256color", "KITTY_WINDOW_ID": "3", "TMUX": TMUX}, None, "kitty"),
        ({"TERM": "xterm-ghostty", "TERM_PROGRAM": "ghostty"}, None, "kitty"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, None, "sixel"),
        ({"TERM": "foot"}, None, "sixel"),
        # Windows Terminal: sixel from 1.22 on, which only its answer tells.
        ({"TERM": "xterm-256color", "WT_SESSION": "x"}, None, "halfblock"),
        ({"TERM": "xterm-256color", "WT_SESSION": "x"}, "\x1b[?61;4;6;7;14;21;22c", "sixel"),
        ({"TERM": "xterm-256color"}, DA1_SIXEL, "sixel"),
        ({"TERM": "xterm-256color"}, "\x1b[?64;1;2;6;9;15;18;21;22c", "halfblock"),
        ({"TERM": "xterm-256color"}, None, "halfblock"),
        # Inside tmux only tmux's own answer counts: the outer terminal's names do not.
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "WezTerm", "TMUX": TMUX}, None, "halfblock"),
        ({"TERM": "tmux-256color", "TMUX": TMUX}, "\x1b[?1;2c", "halfblock"),
        ({"TERM": "tmux-256color", "TMUX": TMUX}, "\x1b[?1;2;4c", "sixel"),
        ({}, None, "halfblock"),
    ],
)
def test_the_picture_mode_comes_from_the_environment_and_the_device_attributes(
    environ: dict[str, str], attributes: str | None, mode: str
) -> None:
    assert graphics.detect(environ, attributes) == mode


def test_sixel_bands_are_one_cell_row_each_and_only_sixel_data() -> None:
    from PIL import Image  # noqa: PLC0415

    from nbtui.widgets.sixel import encode_bands  # noqa: PLC0415

    picture = Image.new("RGB", (200, 100), (200, 30, 30))
    bands = encode_bands(picture, 20, 6, (10, 20))
    # 200x100 in 20x6 cells of 10x20 pixels: 200x100 pixels, five rows, the sixth empty.
    assert [band[: band.index("#")] for band in bands[:5]] == ['\x1bP0;0;0q"1;1;200;20'] * 5
    assert bands[5] == ""
    # Every colour is defined before the first pixel (xterm draws inline definitions wrong).
    striped = Image.new("RGB", (40, 20))
    for y in range(20):
        striped.paste((255, 0, 0) if y % 4 < 2 else (0, 0, 255), (0, y, 40, y + 1))
    band = encode_bands(striped, 4, 1, (10, 20))[0]
    data = band[band.index('"') :]
    assert re.findall(r"#\d+;2;", data) and re.findall(r"#\d+;2;", data[data.index("!") :]) == []
    for band in bands[:5]:
        body = band[band.index("#") : -2]
        assert band.endswith("\x1b\\") and set(body) <= set(
            "#;!$-0123456789?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
        )


def test_kitty_sequences_go_through_tmux_and_off_shows_the_text() -> None:
    try:
        graphics.configure("kitty", {"TMUX": "/tmp/t,1,0"})
        assert graphics.passthrough("\x1b_Ga=p\x1b\\") == "\x1bPtmux;\x1b\x1b_Ga=p\x1b\x1b\\\x1b\\"
        graphics.configure("off", {})
        bundle = {"image/png": png(20, 10, (9, 9, 9)), "text/plain": "<Figure>"}
        assert picture_of(bundle, 80) is None
        assert show(render_data(bundle, {}, 80))[0].strip() == "<Figure>"
    finally:
        graphics.configure("halfblock", {})


def test_a_pictures_size_is_read_from_as_little_of_it_as_holds_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[int] = []
    real = base64.b64decode

    def counting(source: str, validate: bool = False) -> bytes:
        decoded.append(len(source))
        return real(source, validate=validate)

    monkeypatch.setattr(images.base64, "b64decode", counting)
    Image = pytest.importorskip("PIL.Image")

    def encoded(picture: Any, kind: str, **options: object) -> str:
        buffer = io.BytesIO()
        picture.save(buffer, kind, **options)
        return base64.b64encode(buffer.getvalue()).decode()

    noise = Image.effect_noise((400, 300), 80).convert("RGB")
    png = encoded(noise, "PNG")
    assert images._read_header(png) == ((400, 300), "PNG")
    assert decoded == [4 * 1024]  # a burst of plots: 4 KB of each, not 64
    # A JPEG's size can follow tens of KB of metadata: read on from more of it.
    decoded.clear()
    jpeg = encoded(noise, "JPEG", exif=b"Exif\x00\x00" + b"\x00" * 30_000)
    assert images._read_header(jpeg) == ((400, 300), "JPEG")
    assert decoded[-1] == 64 * 1024
    assert images._read_header(base64.b64encode(b"not a picture" * 1000).decode()) is None
