"""The config file: `$XDG_CONFIG_HOME/nbtui/config.toml`, defaults that the command line overrides.

Every key is a command-line option's long name without its dashes (`scrollback = 50000`,
`usage-interval = 5`), plus `theme` (a Textual theme) and a `[keys]` table that rebinds the
app's actions (`interrupt = "ctrl+c"`). A mistake in the file (bad TOML, an unknown key, a
value of the wrong type or out of range) is a `ConfigError` whose text is one line naming
the file and the key, or the line and column: the CLI prints it and exits 2, before any
kernel is touched.

The CLI wires it in like this::

    try:
        config = load_config()                  # missing file: an empty Config
    except ConfigError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    defaults = default_settings(parser, NbtuiApp.BINDINGS, "textual-dark")
    parser.set_defaults(**config.options)       # after default_settings: the command line wins
    args = parser.parse_args(argv)
    if args.print_config:
        given = options_given(parser, argv)
        print(format_settings(effective_settings(args, config, defaults, given=given)))
    app.theme = config.theme or app.theme       # in the app factory
    app.set_keymap(config.keymap())             # bindings need id=<action>

Options that say what to do this time (`--existing`, `--list`, `--prune`, `--pick`,
`--json`, `--yes`, `--version`) or which kernel to reach and how (`--ssh`, `--sshkey`,
`--server`, `--token`, `--kernel-id`) are not settings: a config file that set them would
make every plain `nbtui` do something else, and `--token` is a secret (`JUPYTER_TOKEN` is
the place for it). They are refused like any unknown key.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from textual.binding import Binding
from textual.theme import BUILTIN_THEMES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "KEY_ACTIONS",
    "SETTINGS",
    "Config",
    "ConfigError",
    "EffectiveSetting",
    "Setting",
    "config_path",
    "default_settings",
    "effective_settings",
    "format_settings",
    "load_config",
    "options_given",
]

COMMAND_LINE: Final = "command line"
"""The source of a setting given as a command-line option."""

DEFAULT: Final = "default"
"""The source of a setting that nobody set."""


class ConfigError(Exception):
    """A config file nbtui cannot use; `str()` is one line naming the file and what is wrong."""


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


def _at_least(low: float, unit: str = "") -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        assert isinstance(value, int | float)
        return None if value >= low else f"must be at least {low:g}{unit}"

    return check


def _off_or_at_least(low: float) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        assert isinstance(value, int | float)
        if value == 0 or value >= low:
            return None
        return f"must be 0 (off) or at least {low:g} seconds"

    return check


def _one_of(*choices: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"

    return check


def _share(value: object) -> str | None:
    assert isinstance(value, int | float)
    return None if 0 < value <= 1 else "is a share between 0 and 1, e.g. 0.8"


def _not_empty(value: object) -> str | None:
    return None if value else "must not be empty"


# The same bounds as the CLI's own checks in nbtui.app.main.parse_args.
SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("kernel", "kernel", str, _not_empty),
    Setting("keep-kernel", "keep_kernel", bool),
    Setting("scrollback", "scrollback", int, _at_least(100)),
    Setting("username", "username", str, _not_empty),
    Setting("observe", "observe", bool),
    Setting("hide-others", "hide_others", str, _one_of("outputs", "all")),
    Setting("usage-interval", "usage_interval", float, _at_least(0.5, " seconds")),
    Setting("memory-warn", "memory_warn", float, _share),
    Setting("variables-interval", "variables_interval", float, _off_or_at_least(0.2)),
    Setting("notify-after", "notify_after", float, _at_least(0, " seconds")),
    Setting("output-limit", "output_limit", int, _at_least(10)),
    Setting("line-limit", "line_limit", int, _at_least(100)),
)
"""The command-line options a config file may set, in the order `--help` lists them."""

KEY_ACTIONS: Final[tuple[str, ...]] = (
    "quit",
    "interrupt",
    "page_up",
    "page_down",
    "toggle_panes",
    "toggle_variables",
    "cycle_others",
    "toggle_catchup",
    "toggle_focus",
    "toggle_tracebacks",
    "copy_join",
    "restart",
    "open_output",
    "export",
    "export_markdown",
)
"""The app's actions (`NbtuiApp.BINDINGS`) that `[keys]` may rebind, as Textual names them.

In the file they are written with dashes like every other key (`toggle-panes = "f2"`).
"""

_BY_KEY: Final = {setting.key: setting for setting in SETTINGS}
_TYPE_NAMES: Final = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_KEY_SPEC: Final = re.compile(r"[^\s,]+(,[^\s,]+)*")
_TOML_POSITION: Final = re.compile(
    r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$"
)


@dataclasses.dataclass(frozen=True)
class Config:
    """What a config file set: only what it set, nothing filled in."""

    path: Path
    """The file read (or looked for: a missing file is an empty config)."""
    options: dict[str, object] = dataclasses.field(default_factory=dict)
    """Command-line settings by `argparse` dest, ready for `parser.set_defaults(**options)`."""
    theme: str | None = None
    """A Textual theme name, for `App.theme`; None when the file does not say."""
    keys: dict[str, str] = dataclasses.field(default_factory=dict)
    """Action (Textual's name, `toggle_panes`) to key string (`"f2"`, `"ctrl+p,f2"`)."""

    def keymap(self) -> dict[str, str]:
        """`keys` for `App.set_keymap`, given that each binding's id is its action's name."""
        return dict(self.keys)


@dataclasses.dataclass(frozen=True)
class EffectiveSetting:
    """A setting's value in effect and where it came from."""

    key: str
    """The key as the config file writes it (`usage-interval`, `keys.interrupt`)."""
    value: object
    source: str
    """`"default"`, `"command line"`, or the config file's path."""


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is: `$XDG_CONFIG_HOME/nbtui/config.toml`, else `~/.config/...`.

    A relative `XDG_CONFIG_HOME` is ignored, as the XDG base directory spec says.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "nbtui" / "config.toml"


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _shown(value: object) -> str:
    """A value as TOML writes it, for messages and the settings table."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Path):
        return _shown(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    return str(value)


def _unknown(path: Path, key: str, known: Iterable[str], what: str = "key") -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(f"{path}: unknown {what} {key!r}{hint}")


def _typed(path: Path, setting: Setting, value: object) -> object:
    kind = setting.kind
    fits = (
        isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is not float
        else isinstance(value, int | float) and not isinstance(value, bool)
    )
    if not fits:
        raise ConfigError(
            f"{path}: {setting.key}: expected {_TYPE_NAMES[kind]}, "
            f"got {_type_name(value)} ({_shown(value)})"
        )
    if kind is float:
        value = float(value)  # type: ignore[arg-type]
    if setting.check is not None and (why := setting.check(value)) is not None:
        raise ConfigError(f"{path}: {setting.key}: {_shown(value)} {why}")
    return value


def _keys(path: Path, table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: keys: expected a table ([keys]), got {_type_name(table)}")
    actions = {action.replace("_", "-"): action for action in KEY_ACTIONS}
    keys: dict[str, str] = {}
    for name, spec in table.items():
        if name not in actions:
            raise _unknown(path, f"keys.{name}", (f"keys.{a}" for a in actions), "action")
        if not isinstance(spec, str) or not _KEY_SPEC.fullmatch(spec):
            raise ConfigError(
                f'{path}: keys.{name}: expected a key such as "ctrl+c" or keys separated '
                f'by commas ("f2,ctrl+p"), got {_type_name(spec)} ({_shown(spec)})'
            )
        keys[actions[name]] = spec
    return keys


def parse_config(text: str, path: Path) -> Config:
    """The config in `text`, read from `path` (named in every error).

    Raises:
        ConfigError: the text is not TOML, or sets something unknown or wrong.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reason = str(error)
        if match := _TOML_POSITION.match(reason):
            raise ConfigError(
                f"{path}:{match['line']}:{match['col']}: not valid TOML: {match['reason']}"
            ) from None
        raise ConfigError(f"{path}: not valid TOML: {reason}") from None
    options: dict[str, object] = {}
    theme: str | None = None
    keys: dict[str, str] = {}
    known = [*_BY_KEY, "theme", "keys"]
    for key, value in document.items():
        if key == "theme":
            if not isinstance(value, str):
                raise ConfigError(
                    f"{path}: theme: expected a string, got {_type_name(value)} ({_shown(value)})"
                )
            if value not in BUILTIN_THEMES:
                names = ", ".join(sorted(BUILTIN_THEMES))
                raise ConfigError(f"{path}: theme: no theme {value!r}; one of: {names}")
            theme = value
        elif key == "keys":
            keys = _keys(path, value)
        elif (setting := _BY_KEY.get(key)) is not None:
            options[setting.dest] = _typed(path, setting, value)
        else:
            raise _unknown(path, key, known)
    return Config(path, options, theme, keys)


def load_config(path: Path | None = None) -> Config:
    """The config file at `path` (default: `config_path()`); no file is an empty config.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or sets something unknown or wrong.
    """
    path = config_path() if path is None else path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Config(path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not valid TOML: the file is not UTF-8") from None
    return parse_config(text, path)


def options_given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dests of the options `argv` gives, abbreviations and `--opt=value` included.

    argparse fills in a default only for an attribute the namespace does not have yet, so
    a namespace that starts with a marker for every dest keeps the marker where `argv`
    said nothing. Call it after `parser.parse_args(argv)` succeeded: it parses again.
    """
    unset = object()
    namespace = argparse.Namespace(
        **{action.dest: unset for action in parser._actions if action.dest != argparse.SUPPRESS}
    )
    parser.parse_known_args(list(argv), namespace)
    return {dest for dest, value in vars(namespace).items() if value is not unset}


def default_settings(
    parser: argparse.ArgumentParser, bindings: Iterable[Binding], theme: str
) -> dict[str, object]:
    """The built-in value of every setting, by key as the file writes it.

    Call it before `parser.set_defaults(**config.options)`, which replaces the parser's own.

    Args:
        parser: the CLI's parser, for the options' defaults.
        bindings: the app's `BINDINGS`, for the default key of each action.
        theme: the theme the app uses when none is set.
    """
    defaults: dict[str, object] = {s.key: parser.get_default(s.dest) for s in SETTINGS}
    defaults["theme"] = theme
    for binding in bindings:
        if binding.action in KEY_ACTIONS:
            defaults[f"keys.{binding.action.replace('_', '-')}"] = binding.key
    return defaults


def effective_settings(
    args: argparse.Namespace,
    config: Config,
    defaults: Mapping[str, object],
    given: Collection[str] | None = None,
) -> list[EffectiveSetting]:
    """Every setting's value in effect and its source, in the order of `SETTINGS`.

    Args:
        args: the parsed command line (after `parser.set_defaults(**config.options)`).
        config: the config file read.
        defaults: the built-in values by key as the file writes it: the parser's own
            defaults (`scrollback`, ...), `theme`, and `keys.<action>` for each binding;
            a setting missing here has no default (shown as not set).
        given: the dests the command line gave (`options_given`). Without it an option
            counts as given when its value differs from what the file or the default says.
    """
    path = str(config.path)
    settings: list[EffectiveSetting] = []
    for setting in SETTINGS:
        value = getattr(args, setting.dest, defaults.get(setting.key))
        in_file = setting.dest in config.options
        if given is not None:
            on_command_line = setting.dest in given
        elif in_file:
            on_command_line = value != config.options[setting.dest]
        else:
            on_command_line = value != defaults.get(setting.key)
        source = COMMAND_LINE if on_command_line else path if in_file else DEFAULT
        settings.append(EffectiveSetting(setting.key, value, source))
    if config.theme is not None:
        settings.append(EffectiveSetting("theme", config.theme, path))
    else:
        settings.append(EffectiveSetting("theme", defaults.get("theme"), DEFAULT))
    for action in KEY_ACTIONS:
        key = f"keys.{action.replace('_', '-')}"
        if action in config.keys:
            settings.append(EffectiveSetting(key, config.keys[action], path))
        else:
            settings.append(EffectiveSetting(key, defaults.get(key), DEFAULT))
    return settings


def format_settings(settings: Iterable[EffectiveSetting]) -> str:
    """A table of settings for `nbtui --print-config`: key, value as TOML writes it, source."""
    rows = [("setting", "value", "from")]
    rows += [(item.key, _shown(item.value), item.source) for item in settings]
    key_width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    return "\n".join(
        f"{key:<{key_width}}  {value:<{value_width}}  {source}".rstrip()
        for key, value, source in rows
    )
