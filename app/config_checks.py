"""What the config file may set, read off the CLI's parser: the options that are settings
(`settings_of`), and the argparse `type=` checkers (`checked`, `at_least`, `share`,
`not_empty`) whose bounds the command line and the file share.

Split from `nbtui.app.config`, which reads the file against these settings.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Final, Generic, TypeVar

__all__ = [
    "NOT_SETTINGS",
    "TYPE_NAMES",
    "Checked",
    "Setting",
    "at_least",
    "checked",
    "not_empty",
    "settings_of",
    "share",
    "shown",
]


NOT_SETTINGS: Final = frozenset(
    {
        "existing",
        "list",
        "prune",
        "pick",
        "json",
        "yes",
        "version",
        "help",
        "config",
        "print_config",
        "ssh",
        "sshkey",
        "remote_runtime_dir",
        "server",
        "token",
        "kernel_id",
        "user",
        "start_server",
        "record",
    }
)
"""Dests of the options that say what to do this time or which kernel to reach: never
read from the file. An option added to the CLI is a setting unless its dest is here."""


T = TypeVar("T", int, float, str)


N = TypeVar("N", int, float)


@dataclasses.dataclass(frozen=True)
class Checked(Generic[T]):
    """An argparse `type=` that converts to `kind` and checks the value, and tells the
    config file the same: one set of bounds for the command line and the file."""

    kind: type[T]
    """`int`, `float` or `str`."""
    check: Callable[[T], str | None]
    """Why a value is wrong (`"must be at least 100"`), or None when it is fine."""

    def __call__(self, text: str) -> T:
        """The command line's `text` converted and checked (argparse reports the error)."""
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {TYPE_NAMES[self.kind]}, got {text!r}"
            ) from None
        if (why := self.check(value)) is not None:
            raise argparse.ArgumentTypeError(f"{text} {why}")
        return value


def checked(kind: type[T], check: Callable[[T], str | None]) -> Checked[T]:
    """An argparse `type=` converting to `kind`, with `check` saying why a value is wrong."""
    return Checked(kind, check)


def at_least(kind: type[N], low: float, unit: str = "") -> Checked[N]:
    """An argparse `type=` for a number of `kind` no smaller than `low`."""

    def check(value: N) -> str | None:
        return None if value >= low else f"must be at least {low:g}{unit}"

    return Checked(kind, check)


def _share(value: float) -> str | None:
    return None if 0 < value <= 1 else "is a share between 0 and 1, e.g. 0.8"


share: Final = Checked(float, _share)
"""An argparse `type=` for a share of something: more than 0, at most 1."""


def _not_empty(value: str) -> str | None:
    return None if value else "must not be empty"


not_empty: Final = Checked(str, _not_empty)
"""An argparse `type=` for a string that must not be empty."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """One command-line option that the config file may set."""

    key: str
    """The key in the file: the option's long name without its leading dashes."""
    dest: str
    """The attribute of the parsed arguments (`argparse` dest)."""
    kind: type
    """`bool`, `int`, `float` or `str` (a TOML integer is accepted for a `float`)."""
    check: Callable[[object], str | None] | None = None
    """Returns why a value of the right type is still wrong, or None when it is fine."""
    convert: Callable[[str], object] | None = None
    """The option's own `type=` for a string value that is not one of the plain kinds
    (a path, say): what it returns is the setting's value."""


def _one_of(
    choices: Collection[object], then: Callable[[object], str | None] | None
) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(map(shown, choices))}"
        return None if then is None else then(value)

    return check


def _converts(convert: Callable[[str], object]) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        try:
            convert(str(value))
        except (ValueError, TypeError, argparse.ArgumentTypeError) as error:
            return f"is not valid: {error}" if str(error) else "is not valid"
        return None

    return check


def settings_of(parser: argparse.ArgumentParser) -> tuple[Setting, ...]:
    """The options of `parser` a config file may set, in the order `--help` lists them.

    A setting is a long option storing one value or a flag, whose dest is not in
    `NOT_SETTINGS`; its kind, choices and bounds are the option's (`type=checked(...)`).
    Options of other shapes (several values, counts) are left to the command line.
    """
    settings: list[Setting] = []
    for action in parser._actions:
        longs = [option for option in action.option_strings if option.startswith("--")]
        if not longs or action.dest in NOT_SETTINGS or action.dest == argparse.SUPPRESS:
            continue
        key = longs[0][2:]
        if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
            settings.append(Setting(key, action.dest, bool))
            continue
        if type(action) is not argparse._StoreAction or action.nargs is not None:
            continue
        kind: type = str
        check: Callable[[object], str | None] | None = None
        convert: Callable[[str], object] | None = None
        option_type = action.type
        if isinstance(option_type, Checked):
            kind, check = option_type.kind, option_type.check
        elif option_type in (int, float, str, None):
            kind = option_type or str
        elif callable(option_type):
            convert = option_type
            check = _converts(option_type)
        if action.choices is not None:
            check = _one_of(list(action.choices), check)
        settings.append(Setting(key, action.dest, kind, check, convert))
    return tuple(settings)


TYPE_NAMES: Final[dict[type, str]] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
}
"""How a message names each kind a setting can have."""


def shown(value: object) -> str:
    """A value as TOML writes it, for messages and the settings table."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Path):
        return shown(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    return str(value)
