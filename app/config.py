"""The config file: `$XDG_CONFIG_HOME/nbtui/config.toml`, defaults that the command line overrides.

Every key is a command-line option's long name without its dashes (`scrollback = 50000`,
`usage-interval = 5`), plus `theme` (a Textual theme) and a `[keys]` table that rebinds the
app's actions (`interrupt = "ctrl+c"`). The keys come from the CLI's parser
(`nbtui.app.config_checks.settings_of`): an option added there is a key here, with its
type, its choices and its bounds (a `type=` made by `checked`). A mistake in the file (bad
TOML, an unknown key, a value of the wrong type or out of range) is a `ConfigError` whose
text is one line naming the file and the key, or the line and column: the CLI prints it
and exits 2, before any kernel is touched.

Options that say what to do this time (`--existing`, `--list`, `--prune`, `--pick`,
`--json`, `--yes`, `--version`, `--config`, `--print-config`) or which kernel to reach and
how (`--ssh`, `--sshkey`, `--remote-runtime-dir`, `--server`, `--token`, `--kernel-id`)
are not settings (`config_checks.NOT_SETTINGS`): a config file that set them would make every plain
`nbtui` do something else, and `--token` is a secret (`JUPYTER_TOKEN` is the place for it).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from nbtui.app.config_checks import TYPE_NAMES, Setting, settings_of, shown

if TYPE_CHECKING:
    from textual.binding import Binding

__all__ = [
    "Config",
    "ConfigError",
    "EffectiveSetting",
    "config_path",
    "default_settings",
    "effective_settings",
    "format_settings",
    "load_config",
    "options_given",
    "parse_config",
]

COMMAND_LINE: Final = "command line"
"""The source of a setting given as a command-line option."""

DEFAULT: Final = "default"
"""The source of a setting that nobody set."""


class ConfigError(Exception):
    """A config file nbtui cannot use; `str()` is one line naming the file and what is wrong."""


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
    """Binding id (the action's name, `toggle_panes`) to key string (`"f2"`, `"ctrl+p,f2"`)."""

    def keymap(self) -> dict[str, str]:
        """`keys` for `App.set_keymap`, given that each binding's id is its action's name."""
        return dict(self.keys)

    def check_actions(self, actions: Collection[str]) -> None:
        """Check that every action `[keys]` names is one of `actions` (binding ids).

        Raises:
            ConfigError: naming the first unknown action, with the closest known one.
        """
        known = {action.replace("_", "-"): action for action in actions}
        for action in self.keys:
            if action not in actions:
                name = action.replace("_", "-")
                raise _unknown(self.path, f"keys.{name}", (f"keys.{a}" for a in known), "action")


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
            f"{path}: {setting.key}: expected {TYPE_NAMES[kind]}, "
            f"got {_type_name(value)} ({shown(value)})"
        )
    if kind is float:
        value = float(value)  # type: ignore[arg-type]
    if setting.check is not None and (why := setting.check(value)) is not None:
        raise ConfigError(f"{path}: {setting.key}: {shown(value)} {why}")
    if setting.convert is not None:
        value = setting.convert(str(value))
    return value


def _keys(path: Path, table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: keys: expected a table ([keys]), got {_type_name(table)}")
    keys: dict[str, str] = {}
    for name, spec in table.items():
        if "_" in name:
            # Every key in the file is written with dashes, as the options are.
            raise _unknown(path, f"keys.{name}", [f"keys.{name.replace('_', '-')}"], "action")
        if not isinstance(spec, str) or not _KEY_SPEC.fullmatch(spec):
            raise ConfigError(
                f'{path}: keys.{name}: expected a key such as "ctrl+c" or keys separated '
                f'by commas ("f2,ctrl+p"), got {_type_name(spec)} ({shown(spec)})'
            )
        keys[name.replace("-", "_")] = spec
    return keys


def parse_config(text: str, path: Path, settings: Iterable[Setting]) -> Config:
    """The config in `text`, read from `path` (named in every error).

    Args:
        text: the file's text.
        path: the file, for the messages.
        settings: what the file may set (`settings_of(parser)`).

    Raises:
        ConfigError: the text is not TOML, or sets something unknown or wrong. The actions
            of `[keys]` are checked later, against the app's bindings (`check_actions`).
    """
    # Startup: the TOML parser loads only when there is a file to read.
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib  # noqa: PLC0415
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reason = str(error)
        if match := _TOML_POSITION.match(reason):
            raise ConfigError(
                f"{path}:{match['line']}:{match['col']}: not valid TOML: {match['reason']}"
            ) from None
        raise ConfigError(f"{path}: not valid TOML: {reason}") from None
    by_key = {setting.key: setting for setting in settings}
    options: dict[str, object] = {}
    theme: str | None = None
    keys: dict[str, str] = {}
    known = [*by_key, "theme", "keys"]
    for key, value in document.items():
        if key == "theme":
            if not isinstance(value, str):
                raise ConfigError(
                    f"{path}: theme: expected a string, got {_type_name(value)} ({shown(value)})"
                )
            # Textual's themes only when the file names one: the CLI starts without Textual.
            from textual.theme import BUILTIN_THEMES  # noqa: PLC0415

            if value not in BUILTIN_THEMES:
                names = ", ".join(sorted(BUILTIN_THEMES))
                raise ConfigError(f"{path}: theme: no theme {value!r}; one of: {names}")
            theme = value
        elif key == "keys":
            keys = _keys(path, value)
        elif (setting := by_key.get(key)) is not None:
            options[setting.dest] = _typed(path, setting, value)
        else:
            raise _unknown(path, key, known)
    return Config(path, options, theme, keys)


def load_config(path: Path | None, settings: Iterable[Setting]) -> Config:
    """The config file at `path` (None: `config_path()`); no file is an empty config.

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
    return parse_config(text, path, settings)


def options_given(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dests of the options `argv` gives, abbreviations and `--opt=value` included
    (positional arguments are not options: argparse sets them always).

    argparse fills in a default only for an attribute the namespace does not have yet, so
    a namespace that starts with a marker for every dest keeps the marker where `argv`
    said nothing. Call it after `parser.parse_args(argv)` succeeded: it parses again.
    """
    unset = object()
    namespace = argparse.Namespace(
        **{action.dest: unset for action in parser._actions if action.dest != argparse.SUPPRESS}
    )
    parser.parse_known_args(list(argv), namespace)
    options = {action.dest for action in parser._actions if action.option_strings}
    return {dest for dest, value in vars(namespace).items() if value is not unset} & options


def default_settings(
    parser: argparse.ArgumentParser, bindings: Iterable[Binding], theme: str
) -> dict[str, object]:
    """The built-in value of every setting, by key as the file writes it.

    Call it before `parser.set_defaults(**config.options)`, which replaces the parser's own.

    Args:
        parser: the CLI's parser, for the options' defaults.
        bindings: the app's bindings that have an id, for the default key of each action.
        theme: the theme the app uses when none is set.
    """
    defaults: dict[str, object] = {s.key: parser.get_default(s.dest) for s in settings_of(parser)}
    defaults["theme"] = theme
    for binding in bindings:
        if binding.id is not None:
            defaults[f"keys.{binding.id.replace('_', '-')}"] = binding.key
    return defaults


def effective_settings(
    args: argparse.Namespace,
    config: Config,
    defaults: Mapping[str, object],
    settings: Iterable[Setting],
    given: Collection[str] | None = None,
) -> list[EffectiveSetting]:
    """Every setting's value in effect and its source: options, theme, then keys.

    Args:
        args: the parsed command line (after `parser.set_defaults(**config.options)`).
        config: the config file read.
        defaults: the built-in values by key as the file writes it: the parser's own
            defaults (`scrollback`, ...), `theme`, and `keys.<action>` for each binding;
            a setting missing here has no default (shown as not set).
        settings: the options a file may set (`settings_of(parser)`).
        given: the dests the command line gave (`options_given`). Without it an option
            counts as given when its value differs from what the file or the default says.
    """
    path = str(config.path)
    effective: list[EffectiveSetting] = []
    for setting in settings:
        value = getattr(args, setting.dest, defaults.get(setting.key))
        in_file = setting.dest in config.options
        if given is not None:
            on_command_line = setting.dest in given
        elif in_file:
            on_command_line = value != config.options[setting.dest]
        else:
            on_command_line = value != defaults.get(setting.key)
        source = COMMAND_LINE if on_command_line else path if in_file else DEFAULT
        effective.append(EffectiveSetting(setting.key, value, source))
    if config.theme is not None:
        effective.append(EffectiveSetting("theme", config.theme, path))
    else:
        effective.append(EffectiveSetting("theme", defaults.get("theme"), DEFAULT))
    actions = [key for key in defaults if key.startswith("keys.")]
    actions += [f"keys.{a.replace('_', '-')}" for a in config.keys]
    for key in dict.fromkeys(actions):
        action = key.removeprefix("keys.").replace("-", "_")
        if action in config.keys:
            effective.append(EffectiveSetting(key, config.keys[action], path))
        else:
            effective.append(EffectiveSetting(key, defaults.get(key), DEFAULT))
    return effective


def format_settings(settings: Iterable[EffectiveSetting]) -> str:
    """A table of settings for `nbtui --print-config`: key, value as TOML writes it, source."""
    rows = [("setting", "value", "from")]
    rows += [(item.key, shown(item.value), item.source) for item in settings]
    key_width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    return "\n".join(
        f"{key:<{key_width}}  {value:<{value_width}}  {source}".rstrip()
        for key, value, source in rows
    )
