"""Every public module, class, function and method has a docstring.

The check reads source with :mod:`ast`, so nothing is imported. "Public" means
the module itself, module-level functions and classes, and the methods and
properties of public classes, whose names do not start with an underscore;
``__init__`` is documented in its class's docstring and other dunders are
exempt. Overloads (``@typing.overload``) and property setters and deleters are
exempt: the implementation, or the getter, carries the docstring.

Use :func:`missing_docstrings` on a list of files, or :func:`python_files` to
expand whole directories (``python_files(ROOT / "app", ROOT / "widgets")``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root (holds ``app/``, ``widgets/``, ``bench/``)."""

CHECKED: tuple[str, ...] = ("app", "widgets", "bench")
"""Every module nbtui ships, and the benchmarks (directories expanded recursively)."""


def python_files(*paths: Path) -> list[Path]:
    """Expand files and directories into a sorted list of ``.py`` files.

    Args:
        paths: Python files, or directories searched recursively (``__pycache__``
            and hidden directories skipped).

    Returns:
        Every ``.py`` file named or found, without duplicates.

    Raises:
        FileNotFoundError: A path does not exist (a renamed module must not
            silently drop out of the check).
    """
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*.py")
                if not any(
                    part == "__pycache__" or part.startswith(".")
                    for part in p.relative_to(path).parts
                )
            )
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(path)
    return sorted(found)


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _documented_elsewhere(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    # An overload's implementation, and a property setter's or deleter's getter, carry it.
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "overload":
            return True
        if isinstance(target, ast.Attribute) and target.attr in ("overload", "setter", "deleter"):
            return True
    return False


def _lacks_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if not _is_public(node.name) or _documented_elsewhere(node):
        return False
    return ast.get_docstring(node) is None


def _walk_class(node: ast.ClassDef, prefix: str) -> Iterator[tuple[int, str]]:
    # Only direct members: a nested private helper's methods are not public API.
    for child in node.body:
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            if _lacks_docstring(child):
                yield child.lineno, f"{prefix}.{child.name}"
        elif isinstance(child, ast.ClassDef) and _is_public(child.name):
            name = f"{prefix}.{child.name}"
            if ast.get_docstring(child) is None:
                yield child.lineno, name
            yield from _walk_class(child, name)


def undocumented(source: str) -> list[tuple[int, str]]:
    """List the public definitions in one module's source that lack a docstring.

    Args:
        source: The text of a Python module.

    Returns:
        ``(line, dotted name)`` pairs in source order; line 1 with the name
        ``<module>`` stands for the module docstring.
    """
    tree = ast.parse(source)
    missing: list[tuple[int, str]] = []
    if ast.get_docstring(tree) is None:
        missing.append((1, "<module>"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if _lacks_docstring(node):
                missing.append((node.lineno, node.name))
        elif isinstance(node, ast.ClassDef) and _is_public(node.name):
            if ast.get_docstring(node) is None:
                missing.append((node.lineno, node.name))
            missing.extend(_walk_class(node, node.name))
    return missing


def missing_docstrings(files: Iterable[Path], root: Path = ROOT) -> list[str]:
    """Check files and describe every public definition without a docstring.

    Args:
        files: Python files to read (see :func:`python_files` for directories).
        root: Paths in the result are shown relative to this directory.

    Returns:
        One ``path:line: name`` string per missing docstring; empty when all
        are documented.
    """
    problems: list[str] = []
    for path in files:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        for line, name in undocumented(path.read_text(encoding="utf-8")):
            problems.append(f"{shown}:{line}: {name}")
    return problems


def test_public_names_have_docstrings() -> None:
    files = python_files(*(ROOT / p for p in CHECKED))
    problems = missing_docstrings(files)
    if problems:
        pytest.fail(
            f"{len(problems)} public definitions without a docstring:\n" + "\n".join(problems),
            pytrace=False,
        )


def test_checker_finds_what_is_missing() -> None:
    source = '''
def public(): pass
def _private(): pass
class Documented:
    """Has one."""
    def __init__(self): pass
    def __repr__(self): pass
    def method(self): pass
    @property
    def prop(self):
        """Has one."""
    @prop.setter
    def prop(self, value): pass
    def on_key(self): pass
    def _helper(self): pass
class _Hidden:
    def method(self): pass
'''
    assert undocumented(source) == [
        (1, "<module>"),
        (2, "public"),
        (8, "Documented.method"),
        (14, "Documented.on_key"),
    ]


def test_python_files_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        python_files(tmp_path / "gone.py")
