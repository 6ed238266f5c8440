"""The kernel's variables, read while a cell runs, without running code on shell.

ipykernel (>= 6) answers a `debug_request` on the control channel. Read in ipykernel
7.4's `debugger.py` and checked on a real kernel (tests/integration/test_variables.py):

- `inspectVariables` and `richInspectVariables` are among the debugger's
  `static_debug_msg_types`: they are answered with no prior `initialize` or `attach`,
  and `debugInfo` still says `isStarted: false` afterwards. So this probe never starts
  debugpy, never sets a breakpoint, and leaves nothing that changes how the kernel runs
  for other clients. JupyterLab's panel sends `initialize`/`attach` first because it
  also offers breakpoints, and that is what this probe must not do. Seen on ipykernel
  7.4: `initialize` makes the kernel run `debugpy.listen(...)` on its shell as an
  execute_request, whose busy/idle (user "username") every client sees as a cell; it
  publishes `debug_event`s to every client; from then on every cell of every client runs
  under pydevd's trace function (`sys.gettrace()`), slower, and keeps blank leading
  lines (traceback line numbers shift); a `disconnect` stops neither the listener nor
  the trace function, which stay for the kernel's life.
- `inspectVariables` is answered on the control thread while the shell thread runs a
  cell (a few ms, measured), from pydevd's reading of the user namespace: each name's
  type and a repr capped by pydevd. Functions and classes come grouped under "function
  variables" and "class variables", entries that only a started debugger can open, so
  they are left out here; modules come one by one with type `module`. The only state it
  leaves is the last reading's references to the values (until the next reading).
- `richInspectVariables` gives one variable's mime bundle. Outside a breakpoint ipykernel
  gets it with `shell.user_expressions({name: name})` on the control thread: the
  object's own `__repr__`/`_repr_*_` run, concurrently with a running cell. That is why
  it is only ever asked for one name the user picked, never polled, and only for a
  plain identifier.
- Without debugpy in the kernel's environment (or with pydevd failing to load),
  ipykernel 7 leaves "debugger" out of kernel_info's `supported_features` and answers a
  debug_request with empty content; ipykernel 6 says `debugger: false` in kernel_info.
  Other kernels may not answer control's debug_request at all (a timeout).

The requests are control requests: the transcript model ignores their busy/idle, and
the client does not wake a frame for them (`client._is_quiet`), as with the usage probe.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import zmq

from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.pacing import PacedPoller
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.transports import TransportClosed

__all__ = [
    "GROUP_NAMES",
    "HIDDEN_TYPES",
    "UNSUPPORTED",
    "RichValue",
    "VariableRow",
    "VariablesPoller",
    "VariablesProbe",
    "VariablesSnapshot",
    "debugger_support",
    "filter_rows",
    "is_hidden",
    "parse_variables",
    "summarize",
]

UNSUPPORTED = "this kernel offers no variable inspection"
"""The start of the one line shown when the kernel cannot answer."""

GROUP_NAMES = frozenset({"special variables", "function variables", "class variables"})
"""pydevd's groups: opening them needs a started debugger, which this probe never starts."""

HIDDEN_TYPES = frozenset(
    {
        "module",
        "function",
        "builtin_function_or_method",
        "method",
        "type",
        "ABCMeta",
        "EnumType",
        "EnumMeta",
    }
)
"""Types hidden by default: imports, functions and classes, rarely what one watches."""

_SIZE_LIMIT = 10_000
"""Longest repr whose length is worked out from the repr itself."""

SupportState = Literal["ok", "unsupported", "no answer"]


class VariablesClient(Protocol):
    """What the probe needs of a client; `KernelClient` has it."""

    kernel_info: dict[str, Any]

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        """Send one request and wait up to `timeout` s for its reply (None: none came)."""


@dataclass(frozen=True)
class VariableRow:
    """One variable of the kernel's namespace, as inspectVariables reports it."""

    name: str
    type: str
    value: str
    """pydevd's repr, on one line and sanitized (a `__repr__` can print anything)."""
    size: int | None = None
    """len() of a builtin str, bytes or container whose whole repr came back, else None
    (inspectVariables reports no sizes)."""


@dataclass(frozen=True)
class VariablesSnapshot:
    """One reading of the namespace, or why there is none."""

    state: SupportState
    at: float
    """`time.monotonic()` of the reading."""
    rows: tuple[VariableRow, ...] = ()
    """Every variable the kernel reported, hidden ones included (see `filter_rows`)."""
    message: str = ""
    """The one line to show instead of rows when state is not "ok"."""
    live: bool = False
    """Read while a cell ran (the poller's `busy`)."""
    elapsed: float = 0.0
    """Seconds the request took."""


@dataclass(frozen=True)
class RichValue:
    """One variable's mime bundle, from richInspectVariables."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    """Why there is no bundle, when data is empty."""


def debugger_support(kernel_info: Mapping[str, Any]) -> bool | None:
    """What kernel_info says about debug_request: True, False, or None if it says nothing.

    ipykernel 7 lists "debugger" in `supported_features`, ipykernel 6 and xeus set
    `debugger: true`; a kernel that has either field but not the feature has no debugger.
    """
    features = kernel_info.get("supported_features")
    flag = kernel_info.get("debugger")
    if flag is True or (isinstance(features, list) and "debugger" in features):
        return True
    if flag is False or isinstance(features, list):
        return False
    return None


def _size(type_name: str, value: str) -> int | None:
    if type_name not in ("str", "bytes", "list", "tuple", "dict", "set", "frozenset"):
        return None
    if len(value) > _SIZE_LIMIT:
        return None
    text = value
    if type_name == "frozenset" and text.startswith("frozenset(") and text.endswith(")"):
        text = text[len("frozenset(") : -1] or "()"
    elif type_name == "set" and text == "set()":
        return 0
    # literal_eval only parses literals: nothing of the kernel's runs here, and a repr cut
    # short by pydevd (or a custom one) fails to parse and gives no size.
    with contextlib.suppress(ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        parsed = ast.literal_eval(text)
        if isinstance(parsed, (str, bytes, list, tuple, dict, set, frozenset)):
            return len(parsed)
    return None


def parse_variables(content: Mapping[str, Any]) -> tuple[VariableRow, ...] | None:
    """The rows of an inspectVariables `debug_reply`'s content, or None when it is not a
    successful answer (an empty reply: no debugger)."""
    if content.get("success") is not True:
        return None
    body = content.get("body")
    variables = body.get("variables") if isinstance(body, Mapping) else None
    if not isinstance(variables, list):
        return None
    rows: list[VariableRow] = []
    for entry in variables:
        if not isinstance(entry, Mapping):
            continue
        name, type_name, value = entry.get("name"), entry.get("type"), entry.get("value")
        if not isinstance(name, str) or not name or name in GROUP_NAMES:
            continue
        type_text = type_name if isinstance(type_name, str) else ""
        value_text = value if isinstance(value, str) else ""
        rows.append(
            VariableRow(
                name=sanitize_line(name),
                type=sanitize_line(type_text),
                value=sanitize_line(value_text),
                size=_size(type_text, value_text),
            )
        )
    return tuple(rows)


def is_hidden(row: VariableRow) -> bool:
    """Hidden by default: modules, functions, classes and names starting with `_`."""
    return row.name.startswith("_") or row.type in HIDDEN_TYPES


def filter_rows(
    rows: Iterable[VariableRow], text: str = "", *, show_hidden: bool = False
) -> list[VariableRow]:
    """The rows to show: those whose name or type contains `text` (case-insensitive),
    hidden ones (`is_hidden`) only with `show_hidden`."""
    needle = text.strip().casefold()
    return [
        row
        for row in rows
        if (show_hidden or not is_hidden(row))
        and (not needle or needle in row.name.casefold() or needle in row.type.casefold())
    ]


class VariablesProbe:
    """Asks the kernel for its variables on the control channel, never on shell.

    Args:
        client: The kernel client, attached (its `kernel_info` read).
        timeout: How long to wait for a `debug_reply`.
    """

    def __init__(self, client: VariablesClient, *, timeout: float = 1.0) -> None:
        self.client = client
        self.timeout = timeout
        self.unsupported = ""
        """Why the kernel cannot answer, once that is certain; "" until then."""
        self._seq = itertools.count(1)

    def _request(self, command: str, arguments: dict[str, Any]) -> dict[str, Any]:
        # The Debug Adapter Protocol's envelope, which ipykernel's debugger expects.
        return {
            "type": "request",
            "seq": next(self._seq),
            "command": command,
            "arguments": arguments,
        }

    def _declined(self) -> str:
        info = getattr(self.client, "kernel_info", None) or {}
        if debugger_support(info) is False:
            implementation = info.get("implementation")
            who = f"{sanitize_line(implementation)} " if isinstance(implementation, str) else ""
            return f"{UNSUPPORTED}: its kernel_info lists no debugger ({who}without debugpy?)"
        return ""

    async def inspect(self, *, live: bool = False) -> VariablesSnapshot:
        """One reading of the namespace; never raises for a kernel that cannot answer.

        Args:
            live: Recorded in the snapshot: whether a cell runs.
        """
        started = time.monotonic()
        if not self.unsupported:
            self.unsupported = self._declined()
        if self.unsupported:
            return VariablesSnapshot("unsupported", started, message=self.unsupported, live=live)
        reply = await self.client.request(
            "control", "debug_request", self._request("inspectVariables", {}), self.timeout
        )
        elapsed = time.monotonic() - started
        if reply is None:
            # Not certain: a kernel whose control thread is held (a C call keeping the
            # GIL) answers later. The poller asks again at its next turn.
            return VariablesSnapshot(
                "no answer",
                time.monotonic(),
                message=f"{UNSUPPORTED}: no answer to inspectVariables within {self.timeout:g} s",
                live=live,
                elapsed=elapsed,
            )
        rows = parse_variables(reply.content)
        if rows is None:
            reason = reply.content.get("message") if reply.content else None
            detail = (
                sanitize_line(reason)
                if isinstance(reason, str) and reason
                else "its debug_reply to inspectVariables is empty"
            )
            self.unsupported = f"{UNSUPPORTED}: {detail}"
            return VariablesSnapshot(
                "unsupported", time.monotonic(), message=self.unsupported, live=live
            )
        return VariablesSnapshot("ok", time.monotonic(), rows=rows, live=live, elapsed=elapsed)

    async def rich(self, name: str) -> RichValue:
        """One variable's mime bundle (richInspectVariables).

        ipykernel evaluates the bare name on its control thread and formats the object,
        running its `__repr__`/`_repr_*_` methods: ask only for a name the user chose.
        """
        if not name.isidentifier():
            return RichValue(name, message=f"{sanitize_line(name)!r} is not a plain name")
        if self.unsupported or self._declined():
            return RichValue(name, message=self.unsupported or self._declined())
        reply = await self.client.request(
            "control",
            "debug_request",
            self._request("richInspectVariables", {"variableName": name}),
            self.timeout,
        )
        if reply is None:
            return RichValue(name, message=f"no answer within {self.timeout:g} s")
        body = reply.content.get("body")
        if reply.content.get("success") is not True or not isinstance(body, Mapping):
            return RichValue(name, message="the kernel gave no value for it")
        data, metadata = body.get("data"), body.get("metadata")
        if not isinstance(data, dict) or not data:
            return RichValue(name, message=f"{name} is not defined now")
        return RichValue(name, data=data, metadata=metadata if isinstance(metadata, dict) else {})


class VariablesPoller(PacedPoller):
    """Reads the variables after each cell and, while one runs, every `interval` seconds.

    The next reading is scheduled after the previous one ends: a slow kernel slows the
    poll instead of piling requests up. Once the kernel is known not to answer, it is
    not asked again (the snapshot keeps saying why).

    Args:
        client: The kernel client.
        interval: Seconds between readings while a cell runs (`busy`); 0: none then, only
            after cells (`refresh`).
        on_update: Called with every snapshot, in the event loop.
        timeout: How long to wait for a `debug_reply`.
    """

    def __init__(
        self,
        client: VariablesClient,
        interval: float = 2.0,
        on_update: Callable[[VariablesSnapshot], None] | None = None,
        *,
        timeout: float = 1.0,
    ) -> None:
        super().__init__()
        self.probe = VariablesProbe(client, timeout=timeout)
        self.interval = interval
        self.on_update = on_update
        self.snapshot: VariablesSnapshot | None = None
        """The latest reading, None before the first."""
        self._due = True  # the first reading comes at start

    TASK_NAME = "nbtui-variables"

    def refresh(self) -> None:
        """Read as soon as the current reading (if any) ends: call it on each idle (a
        cell ended, whoever ran it) and when the pane opens."""
        self._due = True
        self._wake.set()

    def set_interval(self, interval: float) -> None:
        """Change the pace while a cell runs; 0 turns live reading off."""
        self.interval = max(0.0, interval)
        self._wake.set()

    def _pace(self) -> float | None:
        if self.probe.unsupported:
            return None  # nothing will change: no timer, only an asked-for refresh
        return self.interval if self._busy and self.interval > 0 else None

    async def _run(self) -> None:
        while not self._stopping:
            if not self._due:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._pace())
                    continue  # woken: a refresh, or busy/interval changed
                except asyncio.TimeoutError:
                    pass
            self._due = False
            try:
                await self.poll()
            except (zmq.ZMQError, TransportClosed):
                return  # the client was closed under us

    async def poll(self) -> VariablesSnapshot:
        """One reading, handed to `on_update`."""
        snapshot = await self.probe.inspect(live=self._busy)
        self.snapshot = snapshot
        if self.on_update is not None:
            self.on_update(snapshot)
        return snapshot


def summarize(rows: Sequence[VariableRow]) -> str:
    """A short count for a title: "12 variables"."""
    return f"{len(rows)} variable{'s' if len(rows) != 1 else ''}"
