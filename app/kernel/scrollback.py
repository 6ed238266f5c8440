"""The transcript's bounded scrollback: how many lines and characters of output it holds,
and trimming the oldest when over its budget.

`Scrollback` is the budget half of `nbtui.app.kernel.model.Transcript` (its base class):
it keeps the counts and the trimming apart from how messages are folded in.
"""

from __future__ import annotations

from nbtui.app.kernel.entries import Cell, Entry
from nbtui.app.kernel.outputs import DataOutput, Output, StreamOutput

__all__ = ["CHARS_PER_LINE", "Scrollback", "counted_lines"]

CHARS_PER_LINE = 320
"""The scrollback's character budget per line of its line budget: far above an average
line, so that only unusually long lines make the character budget the one that binds."""


def counted_lines(output: Output) -> int:
    """The lines `output` counts for in the line budget: a stream's kept complete lines
    (its unended last line is not yet stored), any other output's whole height."""
    if isinstance(output, StreamOutput):
        return len(output.lines)
    return output.line_count


class Scrollback:
    """Bounded scrollback: counts what the entries hold and trims the oldest.

    Args:
        max_lines: How many output lines to keep across the whole transcript.
        max_chars: How many characters of output to keep; by default CHARS_PER_LINE
            for each line of `max_lines`.
    """

    # Kept by the transcript, read and changed here.
    entries: list[Entry]
    cells: dict[str, Cell]
    running: dict[str, Cell]
    changed: dict[int, Entry]
    removed: list[Entry]
    _displays: dict[str, list[DataOutput]]

    def __init__(self, max_lines: int, max_chars: int | None) -> None:
        self.max_lines = max_lines
        self.max_chars = max_lines * CHARS_PER_LINE if max_chars is None else max_chars
        self.stored_lines = 0
        self.stored_chars = 0
        self.dropped_entries = 0
        """Entries removed whole from the front to bound scrollback: an exact count."""

    def _touch(self, entry: Entry) -> None:
        raise NotImplementedError  # the transcript's change tracking

    def _account(self, output: Output, sign: int = 1) -> None:
        """Count an output into the budget (sign -1: out of it)."""
        self.stored_lines += sign * counted_lines(output)
        self.stored_chars += sign * output.chars

    def _over_budget(self) -> bool:
        return self.stored_lines > self.max_lines or self.stored_chars > self.max_chars

    def enforce_budget(self) -> None:
        """Oldest entry first: trim its outputs from the front, and remove it whole
        (unless it is running or the newest) while still over budget or once trimmed to
        nothing.

        A cell that cannot go whole gives up its oldest outputs one by one, displays and
        errors included: room is always made for what is new, or a running cell holding
        more than the budget would have every later output trimmed away on arrival. Only
        the newest output of all is kept whole, even when it alone is over budget.

        Lines bound what is drawn and scrolled; characters bound memory, which a few
        huge lines (a big array's repr, minified JSON) would take at any line count."""
        index = 0
        while self._over_budget() and index < len(self.entries):
            entry = self.entries[index]
            running = isinstance(entry, Cell) and entry.key in self.running
            newest = index == len(self.entries) - 1
            trimmed_any = False
            if isinstance(entry, Cell):
                trimmed_any = self._trim_cell(entry, whole_outputs=running or newest, newest=newest)
            empty = isinstance(entry, Cell) and not any(counted_lines(o) for o in entry.outputs)
            if not running and not newest and (self._over_budget() or (trimmed_any and empty)):
                self._remove_entry(index)
            else:
                index += 1

    def _trim_cell(self, cell: Cell, *, whole_outputs: bool, newest: bool) -> bool:
        """Trim `cell`'s outputs oldest first until the budget holds: stream lines, and,
        when `whole_outputs`, whole displays and errors. True if anything went."""
        trimmed_any = False
        position = 0
        outputs = cell.outputs
        while position < len(outputs):
            excess = self.stored_lines - self.max_lines
            excess_chars = self.stored_chars - self.max_chars
            if excess <= 0 and excess_chars <= 0:
                break
            output = outputs[position]
            if isinstance(output, StreamOutput):
                lines, chars = output.trim_front(max(excess, 0), max(excess_chars, 0))
                self.stored_lines -= lines
                self.stored_chars -= chars
                trimmed_any = trimmed_any or lines > 0
                position += 1
            elif whole_outputs and not (newest and position == len(outputs) - 1):
                del outputs[position]
                self._account(output, -1)
                self._forget_display(output)
                cell.dropped_outputs += 1
                trimmed_any = True
            else:
                position += 1
        if trimmed_any:
            self._touch(cell)
        return trimmed_any

    def _remove_entry(self, index: int) -> None:
        entry = self.entries.pop(index)
        self.removed.append(entry)
        self.changed.pop(id(entry), None)
        self.dropped_entries += 1
        if isinstance(entry, Cell):
            self.cells.pop(entry.key, None)
            for output in entry.outputs:
                self._account(output, -1)
                self._forget_display(output)

    def _forget_display(self, output: Output) -> None:
        if isinstance(output, DataOutput) and output.display_id:
            holders = self._displays.get(output.display_id, [])
            if output in holders:
                holders.remove(output)
            if not holders:
                self._displays.pop(output.display_id, None)
