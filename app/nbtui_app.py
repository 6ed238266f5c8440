"""The nbtui application: one screen around one kernel."""

from __future__ import annotations

import ast
import asyncio
import codeop
import contextlib
import dataclasses
import gc
import re
import time
import warnings
from collections.abc import Callable
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Footer, Input, Label

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.liveness import (
    TROUBLE,
    LivenessMonitor,
    LivenessSnapshot,
    LocalProcess,
    local_process,
)
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import StreamOutput, Transcript
from nbtui.app.kernel.sanitize import sanitize, sanitize_line
from nbtui.app.kernel.usage import UsagePoller, UsageSnapshot
from nbtui.app.present import format_bytes, format_duration, format_elapsed, format_latency
from nbtui.widgets.completions import CompletionMenu
from nbtui.widgets.confirm import ConfirmScreen
from nbtui.widgets.connection_pane import ConnectionPane
from nbtui.widgets.editor import CellEditor
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.pager import PagerScreen
from nbtui.widgets.palette import peer_variables
from nbtui.widgets.peers_pane import PeersPane
from nbtui.widgets.resource_pane import ResourcePane
from nbtui.widgets.side_panes import SidePanes
from nbtui.widgets.status import StatusBar
from nbtui.widgets.transcript import TranscriptView

if TYPE_CHECKING:
    from textual.timer import Timer

    from nbtui.app.kernel.target import OwnedKernel

__all__ = ["NbtuiApp"]

FRAME = 1 / 30
"""Output is drawn at most this often, however fast it arrives."""
STARTUP_GRACE = 3.0
EXIT_WORDS = {"exit", "quit", "exit()", "quit()"}
"""A cell of only these leaves nbtui, whatever the kernel's language."""

# ipykernel answers `exit()` by stopping its own event loop 0.1 s after the cell (zmqshell's
# ask_exit sets exit_now): the kernel process ends itself, for every client, before any
# client could react to the `ask_exit` payload in the reply. So a cell that would call it
# is never sent. `exit(keep_kernel=True)` only asks the client to leave; `sys.exit()` is a
# SystemExit that IPython catches (the kernel lives on); `os._exit()` cannot be stopped.
_EXIT_NAMES = frozenset({"exit", "quit"})
"""IPython's exiter in the user namespace (`ns['exit'] = ns['quit'] = shell.exiter`)."""
_EXIT_METHODS = frozenset({"ask_exit", "exiter"})
"""`get_ipython().ask_exit()` and `get_ipython().exiter()` reach the same machinery."""
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
"""Cell magics whose body IPython runs as Python."""
_EXIT_WORD = re.compile(r"(?<![\w.'\"])(?:exit|quit)\b(?!\s*=[^=])")
"""For code that does not parse as Python even after the magics are read: the word alone
is enough to hold the cell back."""


def _python_source(code: str) -> str | None:
    """The Python IPython would run for `code`, as far as a quick reading can tell: a line
    magic's arguments are kept (`%time exit()` runs `exit()`), shell escapes and help lines
    are `pass`. None for a cell magic whose body is not Python (`%%bash`)."""
    lines = code.splitlines()
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)
        if not name or name[0] not in _PYTHON_CELL_MAGICS:
            return None
        lines = [first[2 + len(name[0]) :].strip() or "pass", *lines[1:]]
    python = []
    for line in lines:
        text = line.lstrip()
        indent = line[: len(line) - len(text)]
        if text.startswith("%"):
            words = text.lstrip("%").split(maxsplit=1)
            text = words[1] if len(words) > 1 else "pass"
        elif text.startswith("!") or text.rstrip().endswith("?"):
            text = "pass"
        python.append(indent + text)
    return "\n".join(python)


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _is_exiter(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _EXIT_NAMES
    return isinstance(func, ast.Attribute) and func.attr in _EXIT_METHODS


def _keeps_kernel(call: ast.Call) -> bool:
    """`exit(keep_kernel=True)` (or `exit(1)`): the kernel stays, the client is asked to
    leave. Only a literal can be told apart before running."""
    given = [keyword.value for keyword in call.keywords if keyword.arg == "keep_kernel"]
    given += call.args[:1]
    return bool(given) and isinstance(given[0], ast.Constant) and bool(given[0].value)


def _exit_calls(tree: ast.AST) -> list[ast.Call | ast.Name]:
    """Every use of IPython's exiter in `tree`: calls, and a bare `exit` statement (an
    autocall: IPython calls it for you)."""
    found: list[ast.Call | ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_exiter(node.func):
            found.append(node)
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Name)
            and node.value.id in _EXIT_NAMES
        ):
            found.append(node.value)
    return found


def _calls_exit(code: str) -> bool:
    """Whether running `code` in an IPython kernel would shut the kernel down through its
    exit machinery (`exit()`, `quit`, `%time exit()`, `get_ipython().ask_exit()`). What is
    hidden from reading (`eval("exit()")`, `f = exit; f()`) is caught afterwards, from the
    `ask_exit` payload of the reply."""
    source = _python_source(code)
    if source is None:
        return False
    tree = _parse(source)
    if tree is None:
        return _EXIT_WORD.search(source) is not None
    return any(not (isinstance(use, ast.Call) and _keeps_kernel(use)) for use in _exit_calls(tree))


def _only_exit(code: str, language: str) -> bool:
    """Whether the cell is nothing but a way of saying exit (`exit()  # bye`, `quit;`,
    `exit 1`): nbtui leaves instead of sending it, as jupyter console leaves."""
    if code.strip() in EXIT_WORDS:
        return True
    if not language.startswith("python"):
        return False
    tree = _parse(code)
    if tree is None:
        # IPython's autocall syntax: `exit 1` is `exit(1)`.
        return re.fullmatch(r"\s*(?:exit|quit)\b[^;\n]*", code) is not None
    return bool(tree.body) and all(_plain_exit(statement) for statement in tree.body)


def _plain_exit(statement: ast.stmt) -> bool:
    """`exit`, `quit()`, `exit(keep_kernel=True)`: a statement that only says exit."""
    if not isinstance(statement, ast.Expr):
        return False
    value = statement.value
    if isinstance(value, ast.Name):
        return value.id in _EXIT_NAMES
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in _EXIT_NAMES
        and all(isinstance(arg, ast.Constant) for arg in value.args)
        and all(isinstance(keyword.value, ast.Constant) for keyword in value.keywords)
    )


# IPython's lexers come through a Pygments plugin that imports all of IPython (0.23 s of
# startup, measured in bench/); Pygments' own Python lexer colours the same code.
_PLAIN_LEXERS = {"ipython3": "python3", "ipython": "python3", "ipython2": "python2"}


def _lexer_name(language_info: dict[str, Any]) -> str:
    for given in (language_info.get("pygments_lexer"), language_info.get("name")):
        if isinstance(given, str) and given:
            name = _PLAIN_LEXERS.get(given, given)
            try:
                get_lexer_by_name(name)
            except ClassNotFound:
                continue
            return name
    return "text"


def _python_verdict(code: str) -> bool | None:
    """Whether `code` is a whole Python cell: True, False (more to come), or None (it
    does not compile: invalid, or IPython's own syntax)."""
    if code.rstrip().endswith(("\\", ":")):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return codeop.compile_command(code + "\n", symbol="exec") is not None
    except (SyntaxError, ValueError, OverflowError):
        return None


def _plainly_complete(code: str, language: str) -> bool:
    """One short line of Python that compiles: the kernel's is_complete would say
    "complete", so Enter runs it without that round trip (a few milliseconds, most of
    what a short cell waits for). Anything else, IPython's `%magic` and `x?` included,
    is the kernel's to judge."""
    if not language.startswith("python") or "\n" in code or len(code) > 2000:
        return False
    return not code[:1].isspace() and _python_verdict(code) is True


def _locally_complete(code: str, language: str) -> bool:
    """A fallback when the kernel does not answer is_complete in time."""
    if not language.startswith("python") and language != "ipython3":
        return True
    # Code that does not compile runs anyway: the kernel reports the error.
    return _python_verdict(code) is not False


class NbtuiApp(App[None]):
    """A console on one Jupyter kernel, shared with whoever else is attached."""

    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")
    TITLE = "nbtui"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "interrupt", "Interrupt", priority=True),
        Binding("pageup", "page_up", "Scroll", show=False, priority=True),
        Binding("pagedown", "page_down", "", show=False, priority=True),
        Binding("f2", "toggle_panes", "Panes", tooltip="Show or hide the side panes"),
        Binding("f4", "cycle_others", "Others", tooltip="Show or hide other clients' work"),
        Binding("f5", "toggle_catchup", "Earlier", tooltip="Inputs from before you joined"),
        # Not in the footer: at 80x24 it has room for six keys and the palette, no more.
        Binding(
            "f6",
            "toggle_focus",
            "Focus",
            show=False,
            tooltip="Move between editor and transcript",
        ),
        Binding("f7", "toggle_tracebacks", "Tracebacks", show=False),
        Binding(
            "f8",
            "copy_join",
            "Copy join",
            show=False,
            tooltip="Copy the command others run to join (OSC 52: works over SSH)",
        ),
        Binding("f9", "restart", "Restart", show=False),
        Binding("f10", "open_output", "Full output", show=False),
    ]

    OTHERS_MODES = (
        (True, True, "showing other clients' inputs and outputs"),
        (True, False, "showing other clients' inputs only"),
        (False, False, "hiding other clients' work"),
    )
    WIDE = 140
    """From this many columns the panes stand beside the transcript; below, an overlay."""
    RESTARTED_SHOWN = 10.0
    """Seconds the status says "restarted" before it goes back to idle or busy."""
    INTERRUPT_GRACE = 3.0
    """Seconds after an interrupt before saying the kernel ignored it."""
    SILENT_HINT = 10.0
    """Seconds without output before suggesting another client's cell waits for input."""
    QUIET_BEAT = 5.0
    """Seconds between heartbeats while no cell runs and the kernel answers (1 s while one
    runs): an idle nbtui should cost no more CPU than jupyter console, and each probe costs
    a millisecond or two; a kill -9 shows at once anyway (the socket monitor)."""
    QUIET_PROBE = 30.0
    """Seconds between control and usage probes while no cell runs (else 5 s)."""

    def __init__(
        self,
        client: KernelClient,
        *,
        own_kernel: OwnedKernel | None = None,
        scrollback: int = 50_000,
        observe: bool = False,
        show_others: tuple[bool, bool] = (True, True),
        usage_interval: float = 5.0,
        memory_threshold: float = 0.8,
        output_limit: int = 2000,
        line_limit: int = 10_000,
    ) -> None:
        super().__init__()
        if self.driver_class.__name__ == "LinuxDriver":
            # Idle CPU: Textual's stock input thread wakes ten times a second (quiet_driver.py).
            from nbtui.app.quiet_driver import QuietLinuxDriver  # noqa: PLC0415

            self.driver_class = QuietLinuxDriver
        self.client = client
        self.own_kernel = own_kernel
        self._panes_wanted: bool | None = None
        """None: panes follow the terminal's width; else the user's F2 choice."""
        self._focus_before_panes: Widget | None = None
        """Where the focus was when the narrow overlay took it, to give it back."""
        self.observe = observe
        """Read-only: never sends execute or stdin messages (watching, teaching)."""
        self.usage_interval = usage_interval
        self.memory_threshold = memory_threshold
        self.freeze_gc = False
        """Once attached, move everything alive out of the collector's reach (`gc.freeze`):
        right for the one app of a process, not for a test process running hundreds."""
        self._others_mode = next(
            (index for index, mode in enumerate(self.OTHERS_MODES) if mode[:2] == show_others),
            0,
        )
        self.model = Transcript(client.session_id, max_lines=scrollback)
        self.output_limit = output_limit
        self.line_limit = line_limit
        self.language = "python"
        self._frame_pending = False
        self._frame_timer: Timer | None = None
        self._frame_at = 0.0
        self._last_frame = 0.0
        self._monitor: LivenessMonitor | None = None
        self._poller: UsagePoller | None = None
        self._liveness: LivenessSnapshot | None = None
        self._usage: UsageSnapshot | None = None
        self._busy_timer: Any = None
        self._pending_input: Msg | None = None
        """The input_request whose prompt is open."""
        self._interrupted_input: Msg | None = None
        """The input_request whose prompt ctrl+c closed, until the interrupt is seen to take."""
        self._watching_state = False
        self._interrupted_cells: set[str] = set()
        """Our cells running when ctrl+c was pressed, until the interrupt is seen to take."""
        self.kernel_state = "starting"
        self._base_count = 0
        self._leaving = False
        self._prompt = ""
        self.error: str | None = None
        """Set when the app exits because the kernel could not be reached."""

    # -- layout --------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The peer palette, `$peer-0` ..., made for the current theme's background."""
        return peer_variables(self.current_theme)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield TranscriptView(id="transcript")
            with SidePanes(id="side"):
                yield Label("connection", classes="pane-title")
                yield ConnectionPane(id="connection")
                yield Label("liveness", classes="pane-title")
                yield LivenessPane(id="liveness")
                yield Label("resources", classes="pane-title")
                yield ResourcePane(id="resources")
                yield Label("peers", classes="pane-title")
                yield PeersPane(id="peers")
        yield CompletionMenu(id="completions")
        with Horizontal(id="stdin-row"):
            yield Label("", id="stdin-prompt")
            yield Input(id="stdin-input")
        with Horizontal(id="input-row"):
            yield Label("In [ ]:", id="prompt")
            yield CellEditor(id="editor")
        yield Footer()

    @property
    def transcript(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    @property
    def editor(self) -> CellEditor:
        return self.query_one(CellEditor)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    # -- start and stop ------------------------------------------------------------------

    async def on_mount(self) -> None:
        self.transcript.output_limit = self.output_limit
        self.transcript.line_limit = self.line_limit
        self.editor.focus()
        self._layout_panes()
        if not self.client.kernel_info:
            try:
                await self.client.attach()
            except NbtuiError as error:
                self.error = str(error)
                self.exit(return_code=2)
                return
        self._attached()

    def _attached(self) -> None:
        client = self.client
        kernel = self._attached_kernel_info()
        join = client.info.join_command()
        if self.own_kernel is not None:
            self.model.add_notice(f"started kernel {kernel}; others join with:  {join}")
        else:
            self.model.add_notice(f"attached to {kernel} as {client.username}; join: {join}")
        if client.info.exposure_notice:
            self.model.add_notice(client.info.exposure_notice, "warning")
        self._finish_attach()

    def _attached_kernel_info(self) -> str:
        """Show what kernel_info says (at attach, and again after a restart)."""
        client = self.client
        info = client.kernel_info
        language_info = info.get("language_info") or {}
        self.language = _lexer_name(language_info)
        self.transcript.language = self.language
        self.editor.highlight_language = self.language
        # Code in the kernel can rewrite its own kernel_info: untrusted like any output.
        name, version, implementation, impl_version = (
            sanitize_line(str(value))
            for value in (
                language_info.get("name", "?"),
                language_info.get("version", ""),
                info.get("implementation", ""),
                info.get("implementation_version", ""),
            )
        )
        self._base_count = len(self.editor.cell_history)
        kernel = f"{name} {version}".strip()
        if implementation:
            kernel += f" ({implementation} {impl_version})".rstrip()
        where = client.info
        spec = where.kernel_name
        self.status.kernel = f"{spec} · {kernel}" if spec else kernel
        self.status.source = where.label
        self.query_one(ConnectionPane).update(where, info, client.session_id, client.transport.kind)
        return kernel

    def _finish_attach(self) -> None:
        client = self.client
        self._set_state("idle")
        if self._others_mode:
            self._apply_others_mode()
        if self.observe:
            self.editor.read_only = True
            self.status.mode = "observing · read-only"
        client.on_message = self._schedule_frame
        client.on_cell_end = self._cell_ended
        if client.inbox:
            self._schedule_frame()
        self._draw_frame()
        if self.freeze_gc:
            self.call_after_refresh(self._freeze_startup_objects)
        self.run_worker(self._load_history(), group="history")
        # Two answered beats are enough to call a kernel healthy: settling later kept a
        # fresh wide nbtui at the full pace (and its pane redraws) for its first seconds.
        self._monitor = LivenessMonitor(
            client,
            on_change=self._liveness_changed,
            quiet_interval=self.QUIET_BEAT,
            quiet_control_interval=self.QUIET_PROBE,
            settle_after=2,
            process=local_process(client.info),
        )
        client.on_kernel_event = self._monitor.kernel_event
        self._monitor.start()
        self._poller = UsagePoller(
            client,
            interval=self.usage_interval,
            on_update=self._usage_changed,
            memory_threshold=self.memory_threshold,
            quiet_interval=max(self.usage_interval, self.QUIET_PROBE),
        )
        self._poller.start()

    @staticmethod
    def _freeze_startup_objects() -> None:
        """Keep everything alive since startup (modules, widgets, styles) out of the
        garbage collector's full passes: without this, a full pass in the middle of a
        flood walked all of them and held a frame up by about 25 ms."""
        gc.collect()
        gc.freeze()

    async def _load_history(self) -> None:
        numbered = await self.client.numbered_history()
        seen = {cell.execution_count for cell in self.model.cells.values()}
        earlier = [(count, code) for count, code in numbered if count not in seen]
        entries = [code for _, code in numbered]
        session_cells = self.editor.cell_history
        self.editor.set_history(entries)
        if self.model.add_catchup(earlier) is not None:
            self._schedule_frame()
        self._base_count = max(self._base_count, max((c for c, _ in numbered), default=0))
        self._update_prompt()
        for code in session_cells:
            self.editor.remember(code)

    async def on_unmount(self) -> None:
        self._leaving = True
        if self._monitor is not None:
            await self._monitor.stop()
        if self._poller is not None:
            await self._poller.stop()

    async def action_quit(self) -> None:
        # Quitting closes our sockets only; an attached kernel is never shut down here.
        self._leaving = True
        self.exit()

    # -- output, coalesced to the frame rate ---------------------------------------------

    def _schedule_frame(self) -> None:
        """Called by the readers when output arrives; draws at most once per FRAME."""
        if self._frame_pending:
            return
        self._frame_pending = True
        # Readers may run outside the app's context (they can start before it), so the
        # timer is set from a message the app itself handles.
        self.call_next(self._frame_due, FRAME)

    def _cell_ended(self) -> None:
        """A cell's output is complete: show it after half a frame at most, not a whole
        one. A quick cell's output (ours or a colleague's) comes a few milliseconds after
        the frame that showed it start, and would otherwise wait out the rest of that
        frame; cells ending faster than that still cost no more than 2 frames per FRAME."""
        self._frame_pending = True
        self.call_next(self._frame_due, FRAME / 2)

    def _frame_due(self, interval: float) -> None:
        at = self._last_frame + interval
        if self._frame_timer is not None:
            if at >= self._frame_at:
                return
            self._frame_timer.stop()
            self._frame_timer = None
        delay = at - time.monotonic()
        if delay > 0.001:
            self._frame_at = at
            self._frame_timer = self.set_timer(delay, self._timed_frame)
        else:
            self._draw_frame()

    def _timed_frame(self) -> None:
        self._frame_timer = None
        self._draw_frame()

    def _draw_frame(self) -> None:
        self._unless_leaving(self._apply_inbox)

    def _tick(self) -> None:
        self._unless_leaving(self._update_status)

    def _unless_leaving(self, update: Callable[[], None]) -> None:
        try:
            update()
        except NoMatches:
            # A frame or tick that fires while the app is closing finds no widgets left.
            if self.is_running and self.screen_stack and not self._leaving:
                raise

    def _apply_inbox(self) -> None:
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None
        self._frame_pending = False
        self._last_frame = time.monotonic()
        messages = self.client.drain()
        for msg in messages:
            if msg.channel == "stdin" and msg.msg_type == "input_request":
                self._ask_input(msg)
            elif (
                msg.channel == "iopub"
                and msg.msg_type == "status"
                and msg.content.get("execution_state") == "starting"
                # A kernel's own start may publish "starting" just after our attach
                # (iopub and control are not ordered): only later is it a restart.
                and msg.received > self.client.attached_at + STARTUP_GRACE
            ):
                self.model.add_notice("the kernel (re)started", "warning")
        self.model.apply_all(messages)
        if len(self.transcript.peer_colours) != len(self.model.peers):
            self.transcript.peer_colours = {
                session: peer.colour for session, peer in self.model.peers.items()
            }
        self.query_one(PeersPane).update_peers(self.model.peers.values())
        removed, changed = self.model.take_changes()
        if removed or changed:
            self.transcript.update_entries(self.model.entries, removed, changed)
        self._update_status()
        self._update_prompt()

    def _update_prompt(self) -> None:
        counts = [
            cell.execution_count
            for cell in self.model.cells.values()
            if cell.execution_count is not None
        ]
        following = max(counts, default=self._base_count) + 1
        prompt = "observing:" if self.observe else f"In [{following}]:"
        if prompt != self._prompt:
            # Every frame calls this; an unchanged prompt must cost nothing.
            self._prompt = prompt
            self.query_one("#prompt", Label).update(Text(prompt))

    def _update_status(self) -> None:
        if self.kernel_state in TROUBLE:
            return
        cell = self.model.oldest_running()
        if self._monitor is not None and self._poller is not None:
            self._monitor.busy = self._poller.busy = cell is not None
        if cell is None:
            self._set_state("idle")
            self.status.detail = ""
            if self._busy_timer is not None:
                self._busy_timer.stop()
                self._busy_timer = None
            return
        self._set_state("busy")
        self.status.detail = self._busy_text() or ""
        if self._busy_timer is None:
            # Ticks only while something runs: an idle nbtui draws nothing.
            self._busy_timer = self.set_interval(1.0, self._tick)

    def _busy_text(self) -> str | None:
        """`4.2 s · trainer In [17]` for the oldest running cell, or None when idle."""
        cell = self.model.oldest_running()
        if cell is None:
            return None
        now = time.monotonic()
        elapsed = now - (cell.started or now)
        who = "you" if cell.is_self else cell.username
        count = f" In [{cell.execution_count}]" if cell.execution_count is not None else ""
        detail = f"{format_elapsed(elapsed)} · {who}{count}"
        silent = now - (cell.last_output or cell.started or now)
        if not cell.is_self and silent > self.SILENT_HINT:
            # Other clients' input prompts are invisible to us (stdin goes only to them).
            detail += (
                f" · no output for {format_duration(silent)}: may be waiting for {who}'s input"
            )
        return detail

    def _panes_shown(self) -> bool:
        return self.query_one("#side").has_class("-shown")

    def _set_state(self, state: str) -> None:
        self.kernel_state = state
        self.status.state = state

    # -- liveness and resources ----------------------------------------------------------

    def _liveness_changed(self, snapshot: LivenessSnapshot) -> None:
        old = self._liveness
        previous = old.state if old else "alive"
        self._liveness = snapshot
        state = snapshot.state
        if state != previous:
            if state == "dead":
                self.model.mark_all_stopped()
                self.model.add_notice(
                    f"the kernel is dead: {snapshot.detail or 'no heartbeat'} "
                    "(the transcript stays readable)",
                    "error",
                )
            elif state == "restarting":
                self.model.mark_all_stopped()
                who = self.client.info.restarting_detail
                self.model.add_notice(
                    f"the kernel is restarting ({who}): whatever ran was stopped and its "
                    "variables will be gone",
                    "warning",
                )
            elif state == "lost":
                self.model.add_notice(
                    f"the kernel is lost: {snapshot.detail} (it may yet answer again)", "error"
                )
            elif state == "stopped":
                self.model.add_notice(
                    f"the kernel is stopped, not dead: {snapshot.detail}", "warning"
                )
            elif state == "unresponsive":
                alive = "alive but " if snapshot.hb_rtt is not None else ""
                self.model.add_notice(
                    f"the kernel is {alive}not answering ({snapshot.detail})", "warning"
                )
            elif state == "restarted":
                self.model.mark_all_stopped()
                where = self.client.info.restart_detail
                self.model.add_notice(
                    f"the kernel restarted{' ' + where if where else ''}: its variables are gone",
                    "warning",
                )
                self._attached_kernel_info()
                self.set_timer(self.RESTARTED_SHOWN, self._acknowledge_restart)
            elif previous in TROUBLE:
                self.model.add_notice("the kernel answers again")
            self._schedule_frame()
        if state == "alive" and (self.kernel_state in TROUBLE or self.kernel_state == "restarted"):
            self.kernel_state = "idle"
        elif state != "alive":
            self._set_state(state)
            self.status.detail = snapshot.detail
        self._update_status()
        self._update_summary()
        if self._panes_shown() and self._liveness_news(old, snapshot):
            self._show_liveness()

    def _liveness_news(self, old: LivenessSnapshot | None, new: LivenessSnapshot) -> bool:
        """Whether the liveness pane redraws for `new`. While the monitor is settled (no cell
        runs, the kernel answers), a round trip that moved a little is not news: a redraw
        of the pane costs the compositor 2-3 ms, more than the heartbeat itself, and was
        half of a wide idle nbtui's CPU. The pane catches up with the next control probe."""
        if old is None or self._monitor is None or not self._monitor.settled:
            return True
        return dataclasses.replace(old, hb_rtt=None, hb_history=()) != dataclasses.replace(
            new, hb_rtt=None, hb_history=()
        )

    def _acknowledge_restart(self) -> None:
        if self._monitor is not None:
            self._monitor.acknowledge()

    def _show_liveness(self) -> None:
        if self._liveness is None:
            return
        self.query_one(LivenessPane).update(
            self._liveness, busy=self._busy_text(), last_iopub=self.client.last_iopub
        )

    def _usage_changed(self, snapshot: UsageSnapshot) -> None:
        warned = self._usage is not None and self._usage.memory_warning
        self._usage = snapshot
        process = self._monitor.process if self._monitor is not None else None
        if isinstance(process, LocalProcess):
            process.learn(snapshot.pid, snapshot.hostname)
        if snapshot.memory_warning and not warned:
            share = f"{snapshot.memory_share:.0%}" if snapshot.memory_share else "most"
            self.model.add_notice(
                f"the kernel uses {share} of the memory it can get: the out-of-memory "
                "killer may strike soon",
                "warning",
            )
            self._schedule_frame()
        self._update_summary()
        if self._panes_shown():
            self.query_one(ResourcePane).update(snapshot)

    def _update_summary(self) -> None:
        """The narrow terminal's one line of pane facts, in the status bar."""
        parts = []
        history = self._liveness.hb_history[-5:] if self._liveness else ()
        if history and self._liveness and self._liveness.hb_rtt is not None:
            # Coarse on purpose: a figure that changes with every beat redraws with every
            # beat. The median of the last few, in steps, keeps jitter from flapping it.
            rtt = sorted(history)[len(history) // 2]
            parts.append(f"hb {format_latency(rtt, coarse=True)}")
        memory = self._usage.kernel_memory if self._usage else None
        if memory is not None:
            parts.append(f"mem {format_bytes(memory)}")
        others = sum(1 for peer in self.model.peers.values() if not peer.is_self)
        if others:
            parts.append(f"{others} peer" + ("" if others == 1 else "s"))
        self.status.summary = " · ".join(parts)

    @on(PeersPane.Changed)
    def _peers_changed(self) -> None:
        self._unless_leaving(self._update_summary)

    # -- running cells -------------------------------------------------------------------

    @on(CellEditor.RunRequested)
    def _run_requested(self, event: CellEditor.RunRequested) -> None:
        self._hide_completions()
        if self.observe:
            self.editor.decided()
            if _only_exit(event.code, self.language):
                self.exit()
            else:
                self.notify("observing: read-only, cells are not sent", timeout=2)
            return
        self.run_worker(self._submit(event.code, event.force), group="submit")

    async def _submit(self, code: str, force: bool) -> None:
        # Whatever happens, the editor gets the keys typed since Enter back.
        try:
            await self._decide(code, force)
        finally:
            self.editor.decided()

    async def _decide(self, code: str, force: bool) -> None:
        stripped = code.strip()
        if not stripped:
            return
        if _only_exit(code, self.language):
            # jupyter console's `exit` shuts down an attached kernel; ours only leaves.
            self.exit()
            return
        if self.kernel_state in ("dead", "restarting"):
            self._not_sent(self._dead_advice())
            return
        if self.language.startswith("python") and _calls_exit(code):
            self._not_sent(
                "this cell calls exit(), and ipykernel answers that by shutting itself "
                "down, for everyone attached; take the exit() out to run the rest. "
                "ctrl+q leaves nbtui"
                + (" (and stops the kernel it started)" if self.own_kernel else "")
            )
            return
        if not force and not _plainly_complete(code, self.language):
            verdict = await self.client.is_complete(code)
            if verdict is None:
                complete = _locally_complete(code, self.language)
            else:
                complete = verdict != "incomplete"
            if not complete:
                self.editor.insert_newline()
                return
        await self._interrupt_taken()
        self.run_cell(code)

    async def _interrupt_taken(self) -> None:
        """Wait (a little) for the cells ctrl+c interrupted to end: ipykernel aborts every
        request queued behind a cell that fails, so a cell typed just after ctrl+c, sent
        before the KeyboardInterrupt lands, would be aborted with it."""
        waiting = [key for key in self._interrupted_cells if not self.client.replied(key)]
        if waiting:
            replies = asyncio.gather(*(self.client.execute_reply(key) for key in waiting))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(replies, self.INTERRUPT_GRACE)

    def _not_sent(self, why: str) -> None:
        """Say why the cell in the editor was not sent; it stays there, to edit or resend."""
        self.model.add_notice(f"not sent: {why}", "warning")
        self.transcript.follow = True
        self._schedule_frame()

    def _dead_advice(self) -> str:
        if self.kernel_state == "restarting":
            return (
                "the kernel is restarting; the cell stays in the "
                "editor: run it when the kernel is back (its variables will be gone)"
            )
        if self.own_kernel is not None:
            return "the kernel is dead; F9 restarts it (nbtui started it), then run the cell"
        return (
            "the kernel is dead, and only whoever started it can restart it; once it is "
            f"back (or for another kernel), ctrl+q and attach again: "
            f"{self.client.info.join_command()}"
        )

    def run_cell(self, code: str) -> str:
        """Send a cell to the kernel and show it at once."""
        msg_id = self.client.execute(code)
        self.model.add_own_cell(msg_id, code, self.client.username)
        # Running a cell asks to see it: back to the end, even from far back in scrollback.
        self.transcript.follow = True
        self.editor.remember(code)
        self.editor.load_text("")
        self._schedule_frame()
        self._watch_kernel_state()
        self.run_worker(self._cell_replied(msg_id), group="replies")
        return msg_id

    async def _cell_replied(self, msg_id: str) -> None:
        """One of our cells ended (its execute_reply): close its input prompt if one is
        open, and act on the kernel's `ask_exit` payload."""
        reply = await self.client.execute_reply(msg_id)
        self._unless_leaving(lambda: self._close_input(msg_id))
        if reply is None or self._leaving:
            return
        payloads = reply.content.get("payload")
        asked = [
            payload
            for payload in (payloads if isinstance(payloads, list) else [])
            if isinstance(payload, dict) and payload.get("source") == "ask_exit"
        ]
        if not asked:
            return
        if asked[0].get("keepkernel") or self.own_kernel is not None:
            # `exit(keep_kernel=True)`: the kernel stays, the console leaves (as jupyter
            # console does); our own kernel is going anyway, and so do we.
            self.exit()
            return
        # Reading the code could not see it coming (`eval("exit()")`): say what happened.
        cell = self.model.cells.get(msg_id)
        label = f" In [{cell.execution_count}]" if cell and cell.execution_count else ""
        self.model.add_notice(
            f"your cell{label} called exit(): ipykernel shut itself down, for everyone "
            "attached (nbtui could not tell from the code beforehand)",
            "error",
        )
        self._schedule_frame()

    def _watch_kernel_state(self) -> None:
        if not self._watching_state:
            self._watching_state = True
            self.watch(self.status, "state", self._kernel_state_changed, init=False)

    def _kernel_state_changed(self, state: str) -> None:
        """A dead or restarted kernel answers nothing we sent before: stop waiting."""
        if state not in ("dead", "restarted"):
            return
        given_up = self.client.abandon_replies()
        self._close_input()
        cells = [self.model.cells.get(key) for key in given_up]
        started = [cell for cell in cells if cell is not None and cell.started is not None]
        if state == "dead" and started:
            count = started[0].execution_count
            label = f" In [{count}]" if count else ""
            # Whatever the cause, it happened while this ran: the reader's first clue.
            self.model.add_notice(
                f"the kernel died while your cell{label} ran "
                "(a cell can end the kernel's process, with os._exit() for one; so can a "
                "crash or the out-of-memory killer)",
                "error",
            )
            self._schedule_frame()

    # -- completion ----------------------------------------------------------------------

    @on(CellEditor.CompletionRequested)
    def _completion_requested(self, event: CellEditor.CompletionRequested) -> None:
        self.run_worker(
            self._complete(event.code, event.cursor_offset), group="complete", exclusive=True
        )

    async def _complete(self, code: str, offset: int) -> None:
        result = await self.client.complete(code, offset)
        if self._leaving or result is None or self.editor.text != code:
            return
        matches, start, end = result
        matches = list(dict.fromkeys(matches))
        if not matches:
            self.notify("no completions", timeout=1.5)
            return
        if len(matches) == 1:
            self._apply_completion(matches[0], start, end)
            return
        menu = self.query_one(CompletionMenu)
        menu.show(matches, start, end)
        self.editor.menu_open = True

    def _apply_completion(self, text: str, start: int, end: int) -> None:
        editor = self.editor
        code = editor.text
        new = code[:start] + text + code[end:]
        editor.load_text(new)
        cursor = start + len(text)
        before = new[:cursor]
        row = before.count("\n")
        column = len(before) - (before.rfind("\n") + 1)
        editor.move_cursor((row, column))

    def _hide_completions(self) -> None:
        self.query_one(CompletionMenu).hide()
        self.editor.menu_open = False

    @on(CellEditor.MenuKey)
    def _menu_key(self, event: CellEditor.MenuKey) -> None:
        menu = self.query_one(CompletionMenu)
        key = event.key
        if key in ("enter", "tab"):
            text = menu.take()
            self.editor.menu_open = False
            if text is not None:
                self._apply_completion(text, menu.start, menu.end)
            # The editor holds the keys typed after the choice until now: they follow it.
            self.editor.decided()
        elif key == "up":
            menu.action_cursor_up()
        elif key == "down":
            menu.action_cursor_down()
        else:
            self._hide_completions()

    # -- stdin ---------------------------------------------------------------------------

    def _ask_input(self, msg: Msg) -> None:
        if self.observe or self.client.replied(msg.parent_id):
            # A request that came in the same frame as its cell's end (an interrupt) is
            # already answered by the KeyboardInterrupt.
            return
        self._pending_input = msg
        self._interrupted_input = None
        prompt = sanitize(str(msg.content.get("prompt", ""))).strip()
        row = self.query_one("#stdin-row")
        self.query_one("#stdin-prompt", Label).update(Text(prompt or "input:"))
        field = self.query_one("#stdin-input", Input)
        field.password = bool(msg.content.get("password"))
        field.value = ""
        row.add_class("-active")
        field.focus()
        self._watch_kernel_state()

    def _close_input(self, cell: str | None = None) -> None:
        """Close the input prompt (only if it is `cell`'s, when given): the cell that
        asked ended, was interrupted, or the kernel is gone. Focus goes back to the editor
        if it was on the prompt."""
        request = self._pending_input
        if request is None or (cell is not None and request.parent_id != cell):
            return
        self._pending_input = None
        field = self.query_one("#stdin-input", Input)
        if field.has_focus:
            self.editor.focus()
        field.value = ""
        self.query_one("#stdin-row").remove_class("-active")

    @on(Input.Submitted, "#stdin-input")
    def _input_submitted(self, event: Input.Submitted) -> None:
        request = self._pending_input
        self._close_input()
        self.editor.focus()
        if request is not None and not self.observe and not self.client.replied(request.parent_id):
            self.client.input_reply(event.value, request)
            # The kernel echoes neither prompt nor answer: keep them in the cell's output.
            self.model.add_input(request, event.value)
            self._schedule_frame()

    # -- other actions -------------------------------------------------------------------

    async def action_interrupt(self) -> None:
        if self.observe:
            self.notify("observing: read-only, ctrl+c interrupts nothing", timeout=2)
            return
        if not self.model.busy and self._pending_input is None:
            self.notify("nothing is running", timeout=1.5)
            return
        running = set(self.model.running)
        self._interrupted_cells = {key for key, cell in self.model.running.items() if cell.is_self}
        if self.own_kernel is not None:
            await self.own_kernel.interrupt()
        else:
            self.run_worker(self.client.interrupt(), group="interrupt")
        # The kernel raises KeyboardInterrupt in a pending input(): what is typed next is
        # for the editor. Should the interrupt not take, the prompt comes back.
        self._interrupted_input = self._pending_input
        self._close_input()
        self.notify("interrupt sent", timeout=2)
        self.set_timer(self.INTERRUPT_GRACE, lambda: self._check_interrupted(running))

    def _check_interrupted(self, running: set[str]) -> None:
        still = running & set(self.model.running)
        asked, self._interrupted_input = self._interrupted_input, None
        self._interrupted_cells = set()
        if still:
            self.model.add_notice(
                f"the kernel did not respond to the interrupt within {self.INTERRUPT_GRACE:g} s "
                "(it may be in C code that ignores SIGINT, or not support interrupts)",
                "warning",
            )
            self._schedule_frame()
        if (
            asked is not None
            and self._pending_input is None
            and not self.client.replied(asked.parent_id)
            and self.kernel_state not in ("dead", "restarted")
        ):
            self._ask_input(asked)

    def on_resize(self, event: events.Resize) -> None:
        # This handler runs before App._on_resize records the new size (a subclass's
        # handler comes first in the MRO), so `self.size` still holds the previous one.
        self._layout_panes(event.size.width)

    def _layout_panes(self, width: int | None = None) -> None:
        wide = (self.size.width if width is None else width) >= self.WIDE
        shown = wide if self._panes_wanted is None else self._panes_wanted
        side = self.query_one(SidePanes)
        overlay = shown and not wide
        was_overlay = side.has_class("-overlay")
        side.set_class(shown, "-shown")
        side.set_class(overlay, "-overlay")
        if overlay and not was_overlay:
            # The overlay hides the editor and is taller than an 80x24 screen: it takes
            # the keys that scroll it until it closes, then gives them back.
            self._focus_before_panes = self.focused
            side.focus()
        elif side.has_focus_within and (was_overlay or not shown):
            before, self._focus_before_panes = self._focus_before_panes, None
            if before is not None and before.is_attached and before.focusable:
                before.focus()
            else:
                self.editor.focus()
        if shown:
            # Panes are not fed while hidden: bring them up to date on showing.
            self._show_liveness()
            if self._usage is not None:
                self.query_one(ResourcePane).update(self._usage)

    def action_toggle_panes(self) -> None:
        self._panes_wanted = not self.query_one("#side").has_class("-shown")
        self._layout_panes()

    def action_cycle_others(self) -> None:
        self._others_mode = (self._others_mode + 1) % len(self.OTHERS_MODES)
        self._apply_others_mode()
        self.notify(self.OTHERS_MODES[self._others_mode][2], timeout=2)

    def _apply_others_mode(self) -> None:
        inputs, outputs, _ = self.OTHERS_MODES[self._others_mode]
        self.transcript.set_peer_visibility(inputs, outputs)

    def action_open_output(self) -> None:
        output = self.transcript.output_to_open()
        if output is None:
            self.notify("no output was held back", timeout=2)
            return
        if isinstance(output, StreamOutput):
            title, text = output.name, output.text
        else:
            title = f"Out[{output.execution_count}]" if output.execution_count else "output"
            text = output.source
        self.push_screen(PagerScreen(title, text))

    def action_copy_join(self) -> None:
        self.query_one(ConnectionPane).action_copy_join()

    @on(ConnectionPane.JoinCopied)
    def _join_copied(self, event: ConnectionPane.JoinCopied) -> None:
        self.notify(f"copied: {event.command}", timeout=3)

    def action_toggle_tracebacks(self) -> None:
        self.transcript.toggle_tracebacks()

    def action_toggle_catchup(self) -> None:
        if self.model.toggle_catchup():
            self._schedule_frame()
        else:
            self.notify("nothing ran here before you joined", timeout=2)

    async def action_restart(self) -> None:
        if self.observe:
            self.notify("observing: read-only, F9 restarts nothing", timeout=2)
            return
        if self.own_kernel is None:
            self.notify(
                "this kernel was not started by nbtui: restarting it would wipe everyone's "
                "state, so only its owner can",
                severity="warning",
                timeout=5,
            )
            return
        self.push_screen(
            ConfirmScreen("Restart the kernel? All its state is lost."), self._restart_confirmed
        )

    async def _restart_confirmed(self, confirmed: bool | None) -> None:
        if confirmed and self.own_kernel is not None:
            self.model.add_notice("restarting the kernel (you asked)", "warning")
            self.model.mark_all_stopped()
            self._schedule_frame()
            try:
                await self.own_kernel.restart()
            except Exception as error:  # noqa: BLE001 - never a crash (its traceback shows locals)
                reason = " ".join(str(error).split()) or type(error).__name__
                self.model.add_notice(f"could not restart the kernel: {reason}", "error")
                self._schedule_frame()

    def action_page_up(self) -> None:
        self._paged().scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self._paged().scroll_page_down(animate=False)

    def _paged(self) -> Widget:
        """What PageUp and PageDown scroll: the side panes while they have the focus (the
        narrow overlay), else the transcript, wherever the focus is."""
        side = self.query_one(SidePanes)
        return side if side.has_focus_within else self.transcript

    def action_toggle_focus(self) -> None:
        if self.editor.has_focus:
            self.transcript.focus()
        else:
            self.editor.focus()
