"""What a typed cell is, before it is sent: whole or not yet, a way of saying exit, and
which lexer colours it. Pure functions: no kernel, no UI."""

from __future__ import annotations

import codeop
import warnings
from typing import Any

from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

__all__ = ["EXIT_WORDS", "lexer_name", "locally_complete", "plainly_complete"]

EXIT_WORDS = {"exit", "quit", "exit()", "quit()"}
"""A cell of only these leaves nbtui, whatever the kernel's language."""

# IPython's lexers come through a Pygments plugin that imports all of IPython (0.23 s of
# startup, measured in bench/); Pygments' own Python lexer colours the same code.
_PLAIN_LEXERS = {"ipython3": "python3", "ipython": "python3", "ipython2": "python2"}


def lexer_name(language_info: dict[str, Any]) -> str:
    """The Pygments lexer for a kernel's `language_info` ("text" when none fits)."""
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
