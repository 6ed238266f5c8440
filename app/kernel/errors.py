"""The one error type that reaches the user as a sentence rather than a traceback."""

from __future__ import annotations

__all__ = ["NbtuiError"]


class NbtuiError(Exception):
    """A problem the user can act on; its message is printed as one line."""
