"""Keys in the cell editor as a terminal delivers them: bursts, bindings, the footer's keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.color import Color
from textual import events
from textual.app import App, ComposeResult
from textual.command import CommandPalette
from textual.widgets import Input

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.app.screens.export_prompt import ExportPrompt
from nbtui.widgets.editor import CellEditor
from nbtui.widgets.palette import theme_variables
from tests.conftest import SLEEPER
from tests.fakes import scripted_client
from tests.ui.conftest import burst, run_and_wait, until
from tests.ui.test_search import peer_cell

NO_JEDI = "get_ipython().Completer.use_jedi = False"
"""Jedi's first completion can take longer than nbtui waits for one on a loaded machine;
IPython's own completer answers at once."""


def own_codes(app: NbtuiApp) -> list[str]:
    return [cell.code for cell in app.model.cells.values() if cell.is_self]


async def test_a_burst_with_backspaces_runs_what_was_typed(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        for attempt in range(5):
            burst(app, "zxabcdef" + "\x7f" * 8 + f"'ok{attempt}'\r")
            await until(pilot, lambda n=attempt: len(own_codes(app)) > n)
        await until(pilot, lambda: not app.model.busy)
        assert own_codes(app) == [f"'ok{n}'" for n in range(5)]
        assert app.editor.text == ""


async def test_a_burst_with_ctrl_j_keeps_the_new_line(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        burst(app, "a = 1\nb = 2")
        await until(pilot, lambda: app.editor.text.endswith("2"))
        assert app.editor.text == "a = 1\nb = 2"
        # ctrl+r runs it as it is, also from within a burst.
        burst(app, "\x12")
        await until(pilot, lambda: len(own_codes(app)) == 1)
        assert own_codes(app) == ["a = 1\nb = 2"]


# -- every key of the README and the footer, from the editor ----------------------------


def readme_keys() -> set[str]:
    """The keys of the README's key table, as Textual names them."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("## Keys", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("key", "---"):
            continue
        keys.update(name.strip().lower() for name in cells[0].split("/"))
    return keys


def footer_keys(app: NbtuiApp) -> set[str]:
    shown = {key for key, active in app.screen.active_bindings.items() if active.binding.show}
    if app.ENABLE_COMMAND_PALETTE:
        shown.add(app.COMMAND_PALETTE_BINDING)
    return shown


async def test_every_key_of_the_readme_and_the_footer_works_from_the_editor(
    client: KernelClient,
) -> None:
    app = create_app(client)
    notes: list[str] = []
    notify = app.notify

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        notes.append(message)
        notify(message, *args, **kwargs)

    app.notify = record  # type: ignore[method-assign]

    async with app.run_test(size=(80, 24)) as pilot:
        editor, view = app.editor, app.transcript
        await until(pilot, lambda: app.kernel_state == "idle")

        async def noted(key: str, text: str) -> None:
            notes.clear()
            await pilot.press(key)
            await until(pilot, lambda: any(text in note for note in notes))

        async def enter() -> None:
            await run_and_wait(pilot, app, f"{NO_JEDI}; print('\\n'.join(map(str, range(60))))")
            assert "59" in view.plain_text().splitlines()

        async def ctrl_r() -> None:
            # Runs as it is: a cell the kernel would call incomplete runs (and fails).
            await pilot.press(*"for i in (1,):")
            await pilot.press("ctrl+r")
            await until(pilot, lambda: editor.text == "" and not app.model.busy)
            assert [c.code for c in app.model.cells.values()][-1] == "for i in (1,):"

        async def ctrl_j() -> None:
            await pilot.press("a", "ctrl+j", "b")
            assert editor.text == "a\nb"
            editor.load_text("")

        async def up_down() -> None:
            await pilot.press("up")
            assert editor.text == "for i in (1,):"
            await pilot.press("down")
            assert editor.text == ""

        async def tab() -> None:
            await pilot.press(*"imp", "tab")
            await until(pilot, lambda: editor.text.startswith("import"))
            editor.load_text("")

        async def escape() -> None:
            await pilot.press("a", "escape", "b")
            assert editor.has_focus
            assert editor.text == "ab"
            editor.load_text("")

        async def kills() -> None:
            editor.load_text("first\nsecond\nthird")
            editor.move_cursor((1, 3))
            await pilot.press("ctrl+u")
            assert editor.text == "first\nond\nthird"
            await pilot.press("ctrl+k")
            assert editor.text == "first\n\nthird"
            editor.load_text("")

        async def ctrl_c() -> None:
            await noted("ctrl+c", "nothing is running")
            await pilot.press(*SLEEPER, "enter")
            await until(pilot, lambda: "sleeping" in view.plain_text().split())
            await noted("ctrl+c", "interrupt sent")
            await until(pilot, lambda: not app.model.busy)
            assert "KeyboardInterrupt" in view.plain_text()

        async def f2() -> None:
            side = app.query_one("#side")
            shown = side.has_class("-shown")
            await pilot.press("f2")
            assert side.has_class("-shown") is not shown
            await pilot.press("f2")
            assert side.has_class("-shown") is shown

        async def f3() -> None:
            pane = app.query_one("#variables")
            await pilot.press("f3")
            await until(pilot, lambda: pane.has_class("-shown"))
            await pilot.press("f3")
            await until(pilot, lambda: not pane.has_class("-shown") and editor.has_focus)

        async def f4() -> None:
            await pilot.press("f4")
            assert not view.show_peer_outputs
            await pilot.press("f4", "f4")
            assert view.show_peer_inputs and view.show_peer_outputs

        async def f6() -> None:
            await pilot.press("f6")
            assert view.has_focus
            await pilot.press("f6")
            assert editor.has_focus

        async def f7() -> None:
            # TextArea's select-all took F7: the next letter replaced the cell.
            await pilot.press(*"ab")
            folded = view.fold_tracebacks
            await pilot.press("f7")
            assert view.fold_tracebacks is not folded
            await pilot.press("c")
            assert editor.text == "abc"
            await pilot.press("f7")
            assert view.fold_tracebacks is folded
            editor.load_text("")

        async def pages() -> None:
            await pilot.press("pageup")
            await until(pilot, lambda: view.scroll_y < view.max_scroll_y)
            await pilot.press("pagedown", "pagedown")
            await until(pilot, lambda: view.scroll_y == view.max_scroll_y)

        async def palette() -> None:
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, CommandPalette))

        async def ctrl_f() -> None:
            # The search bar opens with the focus; Escape closes it and gives it back.
            await pilot.press("ctrl+f")
            bar = app.query_one("#search-bar")
            assert bar.display and bar.has_focus_within
            await pilot.press("escape")
            assert not bar.display and editor.has_focus

        async def export(key: str, suffix: str) -> None:
            # The export prompt offers a file name; Escape cancels it, writing nothing.
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ExportPrompt))
            assert app.screen.query_one(Input).value.endswith(suffix)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ExportPrompt))

        async def ctrl_q() -> None:
            await pilot.press("ctrl+q")
            await until(pilot, lambda: app.return_code == 0)

        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "enter": enter,
            "ctrl+r": ctrl_r,
            "ctrl+j": ctrl_j,
            "up": up_down,
            "down": up_down,
            "tab": tab,
            "escape": escape,
            "ctrl+u": kills,
            "ctrl+k": kills,
            "ctrl+c": ctrl_c,
            "f2": f2,
            "f3": f3,
            "f4": f4,
            "f5": lambda: noted("f5", "nothing ran here before you joined"),
            "f6": f6,
            "f7": f7,
            "f8": lambda: noted("f8", "copied: "),
            "f9": lambda: noted("f9", "was not started by nbtui"),
            "f10": lambda: noted("f10", "no output was held back"),
            "pageup": pages,
            "pagedown": pages,
            "ctrl+f": ctrl_f,
            "ctrl+s": lambda: export("ctrl+s", ".ipynb"),
            "alt+s": lambda: export("alt+s", ".md"),
            "ctrl+p": palette,
            "ctrl+q": ctrl_q,
        }
        wanted = readme_keys() | footer_keys(app)
        assert wanted - set(checks) == set(), "a key without a check"
        done: set[Callable[[], Awaitable[None]]] = set()
        for check in checks.values():
            if check in done:
                continue
            done.add(check)
            assert editor.has_focus, f"focus left the editor before {check}"
            await check()


async def test_escape_keeps_focus_in_the_editor_and_closes_the_menu(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.editor
        await run_and_wait(pilot, app, f"{NO_JEDI}; alpha_one = 1; alpha_two = 2")
        await pilot.press(*"ab", "escape", "c")
        assert editor.has_focus
        assert editor.text == "abc"
        editor.load_text("")
        await pilot.press(*"alpha_", "tab")
        await until(pilot, lambda: editor.menu_open)
        await pilot.press("escape")
        await until(pilot, lambda: not app.query_one("#completions").display)
        assert not editor.menu_open
        await pilot.press("x")
        assert editor.has_focus
        assert editor.text == "alpha_x"


class EditorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CellEditor()


async def test_ctrl_u_and_ctrl_k_kill_to_the_edge_of_the_logical_line() -> None:
    # As readline does, also when the line is soft-wrapped over several rows.
    long = "x = '" + "a" * 150 + "'"
    app = EditorApp()
    async with app.run_test(size=(60, 20)) as pilot:
        editor = app.query_one(CellEditor)
        editor.focus()
        editor.load_text(f"first\n{long}\nlast")
        await pilot.pause()
        assert editor.wrapped_document.height > 5, "the long line must wrap"
        editor.move_cursor((1, len(long)))
        await pilot.press("ctrl+u")
        assert editor.text == "first\n\nlast"
        editor.load_text(f"first\n{long}\nlast")
        editor.move_cursor((1, 0))
        await pilot.press("ctrl+k")
        assert editor.text == "first\n\nlast"
        # At a line's end ctrl+k joins the next line; on an empty line it deletes it.
        await pilot.press("ctrl+k")
        assert editor.text == "first\nlast"
        editor.move_cursor((0, 5))
        await pilot.press("ctrl+k")
        assert editor.text == "firstlast"


# -- syntax colours ------------------------------------------------------------------------


class StyledEditorApp(EditorApp):
    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The peer palette's variables, which nbtui.tcss uses."""
        return theme_variables(self.current_theme)


def colours(editor: CellEditor, row: int) -> dict[str, set[Color | None]]:
    """The colours each word of a line (split at spaces) is drawn in."""
    chars = [
        (char, segment.style.color if segment.style else None)
        for segment in editor.render_line(row)
        for char in segment.text
    ]
    words: dict[str, set[Color | None]] = {}
    word, seen = "", set()
    for char, colour in [*chars, (" ", None)]:
        if char == " ":
            if word:
                words[word] = seen
            word, seen = "", set()
        else:
            word += char
            seen.add(colour)
    return words


async def test_code_is_coloured_while_typed() -> None:
    app = StyledEditorApp()
    async with app.run_test(size=(80, 10)) as pilot:
        editor = app.query_one(CellEditor)
        editor.load_text("if x:  # note\n    y = 'é' + len(x) + 15")
        editor.move_cursor(editor.document.end)  # the cursor's cell has colours of its own
        await pilot.pause()
        first, second = colours(editor, 0), colours(editor, 1)

        def component(name: str) -> set[Color | None]:
            return {editor.get_component_rich_style(f"cell-editor--{name}").color}

        plain = first["x:"]
        assert len(plain) == 1
        assert first["if"] == component("keyword") != plain
        assert first["note"] == first["#"] == component("comment") != plain
        assert second["y"] == plain
        # After a non-ASCII character (TextArea's map is in UTF-8 bytes) the ranges hold.
        assert second["'é'"] == component("string") != plain
        assert second["len(x)"] == component("builtin") | plain
        assert second["15"] == component("number") != plain


async def test_a_text_kernel_leaves_code_plain() -> None:
    app = StyledEditorApp()
    async with app.run_test(size=(80, 10)) as pilot:
        editor = app.query_one(CellEditor)
        editor.highlight_language = "text"
        editor.load_text("if x:  # note")
        editor.move_cursor(editor.document.end)
        await pilot.pause()
        assert len(set().union(*colours(editor, 0).values())) == 1


async def test_a_read_only_editor_takes_no_typing() -> None:
    # --observe: the cell stays as it is, whatever is typed or pasted.
    app = EditorApp()
    async with app.run_test() as pilot:
        editor = app.query_one(CellEditor)
        editor.focus()
        editor.read_only = True
        await pilot.press("tab", "ctrl+j", "a", "backspace", "ctrl+u")
        app.post_message(events.Paste("pasted"))
        await pilot.pause()
        assert editor.text == ""


async def test_keys_after_choosing_a_completion_follow_it(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.editor
        await run_and_wait(pilot, app, f"{NO_JEDI}; alpha_one = 1; alpha_two = 2")
        burst(app, "alpha_\t")
        await until(pilot, lambda: editor.menu_open)
        # Enter takes the highlighted match; what follows in the same burst comes after it.
        burst(app, "\r.real")
        await until(pilot, lambda: editor.text.endswith("l") and not editor.menu_open)
        assert editor.text == "alpha_one.real"
        assert editor.cursor_location == (0, len("alpha_one.real"))


class _RestartSpy:
    """A kernel nbtui started, as far as F9 uses it: records the restart."""

    session_id = "manager-1"

    def __init__(self) -> None:
        self.restarts = 0

    async def interrupt(self) -> None:
        """Nothing to interrupt here."""

    async def restart(self) -> None:
        self.restarts += 1


async def test_f6_and_f9_act_before_the_keys_typed_with_them() -> None:
    """`F6 k` and `F9 y` in one read (a habit, an SSH packet): k selects in the
    transcript and y answers the question; neither lands in the cell being edited."""
    client, kernel = scripted_client()
    own = _RestartSpy()
    app = create_app(client, own_kernel=own)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        peer_cell(kernel, 1, "print(1)", "1\n")
        await until(pilot, lambda: "peer-1" in app.model.cells)
        burst(app, "\x1b[17~k")  # F6 k
        await until(pilot, lambda: app.transcript.selected is app.model.cells["peer-1"])
        assert app.editor.text == ""
        await pilot.press("f6")
        assert app.focused is app.editor
        burst(app, "\x1b[20~y")  # F9 y
        await until(pilot, lambda: own.restarts == 1)
        assert len(app.screen_stack) == 1
        assert app.editor.text == ""
