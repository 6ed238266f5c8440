"""nbtui's own lines in the transcript: notices, the dropped-messages count, and the
folded catch-up of inputs run before we joined.

`Annotations` is the notice half of `nbtui.app.kernel.model.Transcript` (one of its base
classes): it keeps what nbtui says apart from how the kernel's messages are folded in.
"""

from __future__ import annotations

from typing import Literal

from nbtui.app.kernel.entries import Catchup, Entry, Notice
from nbtui.app.kernel.outputs import execution_count
from nbtui.app.kernel.sanitize import sanitize_code

__all__ = ["Annotations"]


class Annotations:
    """Notices and the catch-up section, written into the transcript's entries.

    Mixed into the transcript, which keeps the entries and the change tracking.
    """

    # Kept by the transcript, read and changed here.
    entries: list[Entry]
    dropped_messages: int
    _dropped_notice: Notice | None
    _dropped_run: int

    def _touch(self, entry: Entry) -> None:
        raise NotImplementedError  # the transcript's change tracking

    def add_notice(self, text: str, level: Literal["info", "warning", "error"] = "info") -> Notice:
        """Append a notice line (nbtui's own words, not the kernel's) and return it."""
        notice = Notice(text, level)
        self.entries.append(notice)
        self._touch(notice)
        return notice

    def reword(
        self, notice: Notice, text: str, level: Literal["info", "warning", "error"] | None = None
    ) -> None:
        """Say `notice` anew where it stands (a cause found after the death was told)."""
        notice.text = text
        if level is not None:
            notice.level = level
        self._touch(notice)

    def add_catchup(self, inputs: list[tuple[int, str]]) -> Catchup | None:
        """Put the inputs run before we joined at the top, folded; None if there were none."""
        # The counts come from the kernel like any output: implausible ones go.
        inputs = [(count, code) for count, code in inputs if execution_count(count) is not None]
        if not inputs:
            return None
        catchup = Catchup(
            [(count, sanitize_code(code)) for count, code in inputs],
            sources=[code for _, code in inputs],
        )
        self.entries.insert(0, catchup)
        self._touch(catchup)
        return catchup

    def toggle_catchup(self) -> bool:
        """Unfold or fold the catch-up section; False when there is none."""
        for entry in self.entries:
            if isinstance(entry, Catchup):
                entry.expanded = not entry.expanded
                self._touch(entry)
                return True
        return False

    def _note_dropped(self, count: int) -> None:
        """The transport dropped `count` iopub messages: say so, in one notice per run of
        drops (the latest notice grows while nothing else came after it)."""
        self.dropped_messages += count
        notice = self._dropped_notice
        if notice is None or not self.entries or self.entries[-1] is not notice:
            notice = self.add_notice("", "warning")
            notice.key = "dropped"
            self._dropped_notice = notice
            self._dropped_run = 0
        self._dropped_run += count
        noun = "message" if self._dropped_run == 1 else "messages"
        notice.text = (
            f"{self._dropped_run:,} {noun} dropped: the kernel sent faster than nbtui "
            "could read (outputs may be missing from here)"
        )
        self._touch(notice)
