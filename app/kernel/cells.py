"""What a typed cell is, before it is sent: whole or not yet, a way of saying exit, and
which lexer colours it. Pure functions: no kernel, no UI."""

from __future__ import annotations

import ast
import codeop
import re
import warnings
from typing import Any

from pygments.lexers import find_lexer_class_by_name
from pygments.util import ClassNotFound

__all__ = [
    "EXIT_WORDS",
    "calls_exit",
    "lexer_name",
    "locally_complete",
    "only_exit",
    "plainly_complete",
]

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


def calls_exit(code: str) -> bool:
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


def only_exit(code: str, language: str) -> bool:
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


def lexer_name(language_info: dict[str, Any]) -> str:
    """The Pygments lexer for a kernel's `language_info` ("text" when none fits)."""
    for given in (language_info.get("pygments_lexer"), language_info.get("name")):
        if isinstance(given, str) and given:
            name = _PLAIN_LEXERS.get(given, given)
            try:
                # The class, not an instance: startup (an instance compiles its regexes).
                find_lexer_class_by_name(name)
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


def plainly_complete(code: str, language: str) -> bool:
    """One short line of Python that compiles: the kernel's is_complete would say
    "complete", so Enter runs it without that round trip (a few milliseconds, most of
    what a short cell waits for). Anything else, IPython's `%magic` and `x?` included,
    is the kernel's to judge."""
    if not language.startswith("python") or "\n" in code or len(code) > 2000:
        return False
    return not code[:1].isspace() and _python_verdict(code) is True


def locally_complete(code: str, language: str) -> bool:
    """A fallback when the kernel does not answer is_complete in time."""
    if not language.startswith("python") and language != "ipython3":
        return True
    # Code that does not compile runs anyway: the kernel reports the error.
    return _python_verdict(code) is not False
