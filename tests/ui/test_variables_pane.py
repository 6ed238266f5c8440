"""The variables pane in a minimal App, fed scripted snapshots (no kernel)."""

from __future__ import annotations

from importlib.resources import files

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from nbtui.app.kernel.variables import UNSUPPORTED, VariableRow, VariablesSnapshot
from nbtui.widgets.palette import theme_variables
from nbtui.widgets.variables_pane import VariablesPane
from tests.ui.conftest import until

LONG = "array([" + ", ".join(str(i) for i in range(100)) + "])"


def rows(epoch: int) -> tuple[VariableRow, ...]:
    return (
        VariableRow("epoch", "int", str(epoch)),
        VariableRow("loss", "float", "0.25"),
        VariableRow("data", "ndarray", LONG),
        VariableRow("names", "list", "['a', 'b']", 2),
        VariableRow("np", "module", "<module 'numpy'>"),
        VariableRow("_tmp", "int", "1"),
        VariableRow("markup", "str", "'[red]x[/red]'", 14),
    )


def snap(epoch: int, *, live: bool = True) -> VariablesSnapshot:
    return VariablesSnapshot("ok", 0.0, rows=rows(epoch), live=live)


class Harness(App[None]):
    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[VariableRow] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variables(self.current_theme)  # nbtui.tcss uses them, as NbtuiApp

    def compose(self) -> ComposeResult:
        yield VariablesPane(interval=2.0, id="vars")

    def on_variables_pane_selected(self, event: VariablesPane.Selected) -> None:
        self.selected.append(event.row)


def shown(pane: VariablesPane) -> dict[str, list[str]]:
    table: DataTable[object] = pane.table
    return {str(key.value): [str(cell) for cell in table.get_row(key)] for key in table.rows}


async def test_table_title_updates_and_hidden_rows() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        pane.update(snap(3))
        await pilot.pause()
        assert pane.title == "variables · live, 2 s"
        table = shown(pane)
        assert list(table) == ["epoch", "loss", "data", "names", "markup"]  # no np, _tmp
        assert table["epoch"] == ["epoch", "int", "3", ""]
        assert table["names"][3] == "2"
        assert len(table["data"][2]) == 30 and table["data"][2].endswith("…")
        assert table["markup"][2] == "'[red]x[/red]'"  # shown as text, not markup
        pane.table.move_cursor(row=1)
        pane.update(snap(4))
        await pilot.pause()
        assert shown(pane)["epoch"][2] == "4"
        assert pane.table.cursor_row == 1  # a moving counter does not move the cursor
        pane.update(snap(5, live=False))
        await pilot.pause()
        assert pane.title == "variables"
        pane.set_show_hidden(True)
        await pilot.pause()
        assert {"np", "_tmp"} <= set(shown(pane))


async def test_filter_input_narrows_rows() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        pane.update(snap(1))
        await pilot.pause()
        await pilot.click("#variables-filter")
        await pilot.press("l", "o")
        await until(pilot, lambda: list(shown(pane)) == ["loss"])
        for _ in range(2):
            await pilot.press("backspace")
        await pilot.press("f", "l", "o", "a", "t")  # by type too
        await until(pilot, lambda: list(shown(pane)) == ["loss"])
        await pilot.press("down")  # back to the table
        assert pane.table.has_focus


async def test_typing_in_the_table_goes_to_the_filter() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        pane.update(snap(1))
        await pilot.pause()
        pane.table.focus()
        await pilot.press("n", "a")
        await until(pilot, lambda: list(shown(pane)) == ["names"])
        assert pane.filter_text == "na"
        assert pane.query_one("#variables-filter", Input).has_focus


async def test_select_row_posts_the_full_row() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        pane.update(snap(1))
        await pilot.pause()
        pane.table.focus()
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: bool(app.selected))
        assert app.selected[0].name == "data"
        assert app.selected[0].value == LONG  # whole, not cropped


async def test_unsupported_kernel_shows_one_line() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        line = f"{UNSUPPORTED}: its kernel_info lists no debugger"
        pane.update(VariablesSnapshot("unsupported", 0.0, message=line))
        await pilot.pause()
        assert pane.message == line
        assert pane.has_class("-unsupported")
        assert not pane.table.display or not pane.table.is_on_screen
        assert pane.title == "variables"


async def test_no_answer_keeps_last_rows_dimmed() -> None:
    app = Harness()
    async with app.run_test(size=(90, 20)) as pilot:
        pane = app.query_one(VariablesPane)
        pane.update(VariablesSnapshot("no answer", 0.0, message=f"{UNSUPPORTED}: no answer"))
        await pilot.pause()
        assert pane.message.endswith("no answer")  # nothing else to show yet
        pane.update(snap(7))
        await pilot.pause()
        pane.update(VariablesSnapshot("no answer", 0.0, message="x", live=True))
        await pilot.pause()
        assert pane.has_class("-stale") and not pane.has_class("-unsupported")
        assert shown(pane)["epoch"][2] == "7"
