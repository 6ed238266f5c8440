"""A notebook checked with nbformat's own validation before it is written.

nbformat is imported on the first export only (jsonschema is slow to import), and without
a grammar it never uses (`_nbformat`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

__all__ = ["notebook_node"]


def _nbformat() -> ModuleType:
    """nbformat, imported on the first export (jsonschema is slow to import), without
    rfc3987_syntax: jsonschema loads it, when it is installed (Jupyter Server's
    dependencies bring it), for an "iri" format check, and it builds a grammar as it is
    imported, 2.6 s of CPU on the first export. Formats are not checked by nbformat's
    validation; the module stays importable for whoever else wants it."""
    blocked = "rfc3987_syntax" not in sys.modules
    if blocked:
        # None there: an ImportError for whoever imports it meanwhile.
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import nbformat  # noqa: PLC0415
    finally:
        if blocked and sys.modules.get("rfc3987_syntax", False) is None:
            del sys.modules["rfc3987_syntax"]
    return nbformat


def notebook_node(notebook: Mapping[str, Any]) -> Any:
    """`notebook` as an `nbformat.NotebookNode`, checked with `nbformat.validate`
    (raises `nbformat.ValidationError` when it is not valid)."""
    nbformat = _nbformat()
    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    return node
