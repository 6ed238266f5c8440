"""The config file: where it is, what it may set, one clear line for every mistake, and
which value wins (command line over file over default) as `--print-config` shows it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.theme import BUILTIN_THEMES

from nbtui.app.bindings import keyed_bindings
from nbtui.app.config import (
    Config,
    ConfigError,
    EffectiveSetting,
    config_path,
    default_settings,
    effective_settings,
    format_settings,
    options_given,
)
from nbtui.app.config import load_config as _load_config
from nbtui.app.config_checks import NOT_SETTINGS, settings_of
from nbtui.app.main import build_parser, parse_args
from nbtui.app.nbtui_app import NbtuiApp
from tests.unit.test_docstrings import ROOT, missing_docstrings

SETTINGS = settings_of(build_parser())
KEY_ACTIONS = tuple(binding.id for binding in keyed_bindings() if binding.id is not None)


def load_config(path: Path | None = None) -> Config:
    """The config file at `path` with the CLI's settings."""
    return _load_config(path, SETTINGS)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nbtui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def _parser() -> argparse.ArgumentParser:
    """The CLI's parser."""
    return build_parser()


def _defaults(parser: argparse.ArgumentParser) -> dict[str, object]:
    interrupt = Binding("ctrl+c", "interrupt", "Interrupt", id="interrupt")
    return default_settings(parser, [interrupt], "textual-dark")


def test_path_follows_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "nbtui/config.toml"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home/.config/nbtui/config.toml"
    assert config_path({}) == expected
    # The XDG spec: a relative path is invalid and ignored.
    assert config_path({"XDG_CONFIG_HOME": "relative/dir"}) == expected
    assert config_path({"XDG_CONFIG_HOME": ""}) == expected
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg/nbtui/config.toml"
    assert load_config().path == tmp_path / "xdg/nbtui/config.toml"


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nowhere" / "config.toml")
    assert config == Config(tmp_path / "nowhere" / "config.toml")
    assert config.options == {} and config.theme is None and config.keys == {}


def test_every_setting_read_by_its_long_option_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        kernel = "python3"
        keep-kernel = true
        scrollback = 1000
        username = "alice"
        observe = true
        hide-others = "outputs"
        usage-interval = 5          # an integer is a fine number of seconds
        memory-warn = 0.9
        output-limit = 500
        line-limit = 2000
        theme = "nord"

        [keys]
        interrupt = "ctrl+c"
        toggle-panes = "f3,ctrl+p"
        """,
    )
    config = load_config(path)
    assert config.options == {
        "kernel": "python3",
        "keep_kernel": True,
        "scrollback": 1000,
        "username": "alice",
        "observe": True,
        "hide_others": "outputs",
        "usage_interval": 5.0,
        "memory_warn": 0.9,
        "output_limit": 500,
        "line_limit": 2000,
    }
    assert isinstance(config.options["usage_interval"], float)
    assert config.theme == "nord"
    assert config.keymap() == {"interrupt": "ctrl+c", "toggle_panes": "f3,ctrl+p"}


def test_settings_are_the_clis_options() -> None:
    """Every long option is a setting unless it says what to do this time; an option
    another part of nbtui adds to the parser is a key without a word here."""
    parser = build_parser()
    longs = {
        action.dest
        for action in parser._actions
        if any(option.startswith("--") for option in action.option_strings)
    }
    assert {setting.dest for setting in SETTINGS} == longs - NOT_SETTINGS
    args = parse_args([])
    for setting in SETTINGS:
        assert setting.key == setting.dest.replace("_", "-")
        default = getattr(args, setting.dest)
        if default is not None and setting.check is not None:
            assert setting.check(default) is None, setting.key


def test_a_new_option_is_a_key(tmp_path: Path) -> None:
    parser = build_parser()
    parser.add_argument("--made-up-after", type=float, default=10.0)
    parser.add_argument("--made-up-path", type=Path, default=None)
    parser.add_argument("--mode", choices=("a", "b"), default="a")
    settings = settings_of(parser)
    path = _write(tmp_path, 'made-up-after = 3\nmade-up-path = "/tmp/x"\nmode = "b"')
    config = _load_config(path, settings)
    assert config.options["made_up_after"] == 3.0
    assert config.options["made_up_path"] == Path("/tmp/x")
    assert config.options["mode"] == "b"
    with pytest.raises(ConfigError, match='mode: "c" must be one of "a", "b"'):
        _load_config(_write(tmp_path, 'mode = "c"'), settings)


def test_key_actions_are_the_apps_bindings() -> None:
    """Every app binding has an id, its action's name: the palette and `[keys]` need it."""
    for binding in NbtuiApp.BINDINGS:
        assert isinstance(binding, Binding)
        assert binding.id == binding.action.split("(", 1)[0], binding
    assert {binding.action for binding in NbtuiApp.BINDINGS} <= set(KEY_ACTIONS)


def test_unknown_action_is_one_line(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[keys]\ninterupt = 'ctrl+c'"))
    with pytest.raises(ConfigError) as caught:
        config.check_actions(KEY_ACTIONS)
    assert str(caught.value) == (
        f"{config.path}: unknown action 'keys.interupt' (did you mean 'keys.interrupt'?)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scrolback = 100", "unknown key 'scrolback' (did you mean 'scrollback'?)"),
        ("usage_interval = 5", "unknown key 'usage_interval' (did you mean 'usage-interval'?)"),
        ("list = true", "unknown key 'list'"),
        ("token = 'secret'", "unknown key 'token'"),
        ("[panes]\nwidth = 3", "unknown key 'panes'"),
        ("[keys]\ntoggle_panes = 'f2'", "unknown action 'keys.toggle_panes' (did you mean"),
    ],
)
def test_unknown_key_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('scrollback = "50000"', 'scrollback: expected an integer, got a string ("50000")'),
        ("scrollback = 5e4", "scrollback: expected an integer, got a number (50000.0)"),
        ("scrollback = true", "scrollback: expected an integer, got a boolean (true)"),
        ("observe = 1", "observe: expected true or false, got an integer (1)"),
        ('usage-interval = "5s"', 'usage-interval: expected a number, got a string ("5s")'),
        ("memory-warn = false", "memory-warn: expected a number, got a boolean (false)"),
        ("username = ['a']", 'username: expected a string, got an array (["a"])'),
        ("theme = 3", "theme: expected a string, got an integer (3)"),
        ("keys = 'ctrl+c'", "keys: expected a table ([keys]), got a string"),
        ("[keys]\ninterrupt = 3", "keys.interrupt: expected a key such as"),
        ("[keys]\ninterrupt = 'ctrl + c'", "keys.interrupt: expected a key such as"),
        ("[keys]\ninterrupt = ''", "keys.interrupt: expected a key such as"),
    ],
)
def test_wrong_type_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scrollback = 10", "scrollback: 10 must be at least 100"),
        ("output-limit = 9", "output-limit: 9 must be at least 10"),
        ("line-limit = 99", "line-limit: 99 must be at least 100"),
        ("usage-interval = 0.1", "usage-interval: 0.1 must be at least 0.5 seconds"),
        ("memory-warn = 80", "memory-warn: 80.0 is a share between 0 and 1"),
        ("memory-warn = 0", "memory-warn: 0.0 is a share between 0 and 1"),
        ('hide-others = "mine"', 'hide-others: "mine" must be one of "outputs", "all"'),
        ('username = ""', 'username: "" must not be empty'),
        ('kernel = ""', 'kernel: "" must not be empty'),
        ('theme = "solarized"', "theme: no theme 'solarized'; one of: "),
    ],
)
def test_value_out_of_range_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_every_builtin_theme_is_accepted(tmp_path: Path) -> None:
    for name in BUILTIN_THEMES:
        assert load_config(_write(tmp_path, f'theme = "{name}"')).theme == name


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("scrollback = 1000\nusername = \n", "2:12", "Invalid value"),
        ("scrollback = 1000\nscrollback = 2000\n", "2:18", "Cannot overwrite a value"),
        ("[keys\n", "1:6", "Expected ']'"),
    ],
)
def test_bad_toml_names_line_and_column(
    tmp_path: Path, text: str, position: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    message = _error(tmp_path, text)
    assert message.startswith(f"{path}:{position}: not valid TOML: {reason}")


def test_bad_toml_at_end_of_file(tmp_path: Path) -> None:
    message = _error(tmp_path, 'username = "alice')
    assert message.endswith("not valid TOML: Unterminated string (at end of document)")


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'scrollback = 1000\nusername = "\xff"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:2: not valid TOML: the file is not UTF-8"):
        load_config(path)


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()  # a directory where the file should be: reading fails whoever runs the test
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: cannot read it: ")
    assert "\n" not in str(caught.value)


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "scrollback = 1000\nobserve = true\nusage-interval = 2"))
    parser = _parser()
    defaults = _defaults(parser)
    parser.set_defaults(**config.options)
    argv = ["--scrollback", "3000", "--line-limit=500"]
    args = parser.parse_args(argv)
    assert (args.scrollback, args.observe, args.usage_interval) == (3000, True, 2.0)
    assert args.line_limit == 500 and args.output_limit == 2000

    settings = {
        item.key: item
        for item in effective_settings(
            args, config, defaults, SETTINGS, given=options_given(parser, argv)
        )
    }
    assert settings["scrollback"] == EffectiveSetting("scrollback", 3000, "command line")
    assert settings["observe"] == EffectiveSetting("observe", True, str(config.path))
    assert settings["usage-interval"] == EffectiveSetting("usage-interval", 2.0, str(config.path))
    assert settings["line-limit"] == EffectiveSetting("line-limit", 500, "command line")
    assert settings["output-limit"] == EffectiveSetting("output-limit", 2000, "default")
    assert settings["theme"] == EffectiveSetting("theme", "textual-dark", "default")
    assert settings["keys.interrupt"] == EffectiveSetting("keys.interrupt", "ctrl+c", "default")


def test_given_tells_an_option_repeating_the_file_value(tmp_path: Path) -> None:
    """`--scrollback 1000` with `scrollback = 1000` in the file came from the command line;
    only `options_given` can tell, comparing values cannot."""
    config = load_config(_write(tmp_path, "scrollback = 1000"))
    parser = _parser()
    defaults = _defaults(parser)
    parser.set_defaults(**config.options)
    (scrollback,) = (setting for setting in SETTINGS if setting.key == "scrollback")
    argv = ["--scroll", "1000"]  # argparse takes a unique abbreviation
    args = parser.parse_args(argv)
    assert options_given(parser, argv) == {"scrollback"}
    given = effective_settings(args, config, defaults, SETTINGS, given=options_given(parser, argv))
    assert given[SETTINGS.index(scrollback)] == EffectiveSetting("scrollback", 1000, "command line")
    guessed = effective_settings(args, config, defaults, SETTINGS)
    assert guessed[SETTINGS.index(scrollback)] == EffectiveSetting(
        "scrollback", 1000, str(config.path)
    )


def test_without_given_a_changed_value_is_the_command_lines(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "scrollback = 1000"))
    parser = _parser()
    defaults = _defaults(parser)
    parser.set_defaults(**config.options)
    args = parser.parse_args(["--scrollback", "200", "--output-limit", "20"])
    settings = {
        item.key: item.source for item in effective_settings(args, config, defaults, SETTINGS)
    }
    assert settings["scrollback"] == "command line"
    assert settings["output-limit"] == "command line"
    assert settings["line-limit"] == "default"


def test_theme_and_keys_from_the_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, 'theme = "gruvbox"\n[keys]\ninterrupt = "f12"'))
    parser = _parser()
    args = parser.parse_args([])
    settings = {
        s.key: s for s in effective_settings(args, config, _defaults(parser), SETTINGS, given=())
    }
    assert settings["theme"] == EffectiveSetting("theme", "gruvbox", str(config.path))
    assert settings["keys.interrupt"] == EffectiveSetting("keys.interrupt", "f12", str(config.path))


def test_format_settings_is_an_aligned_table(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, 'username = "alice"'))
    parser = _parser()
    parser.set_defaults(**config.options)
    argv = ["--observe"]
    args = parser.parse_args(argv)
    table = format_settings(
        effective_settings(
            args, config, _defaults(parser), SETTINGS, given=options_given(parser, argv)
        )
    )
    lines = table.splitlines()
    assert lines[0].split() == ["setting", "value", "from"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["username"].split() == ["username", '"alice"', str(config.path)]
    assert rows["observe"].split() == ["observe", "true", "command", "line"]
    assert rows["kernel"].split() == ["kernel", "(not", "set)", "default"]
    assert rows["usage-interval"].split() == ["usage-interval", "5.0", "default"]
    assert rows["keys.interrupt"].split() == ["keys.interrupt", '"ctrl+c"', "default"]
    # Aligned: every source starts in the same column.
    column = lines[0].index("from")
    assert all(line[column - 2 : column] == "  " for line in lines)
    assert rows["username"][column:] == str(config.path)


def test_every_public_name_has_a_docstring() -> None:
    assert missing_docstrings([ROOT / "app" / "config.py", ROOT / "app" / "config_checks.py"]) == []


def test_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    """The README's example file loads, and its sample errors are what nbtui says."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(_write(tmp_path, example))
    assert config.options["usage_interval"] == 2.0
    assert config.theme == "nord"
    assert config.keys == {"interrupt": "ctrl+c", "toggle_panes": "f2,ctrl+o"}
    after = section.split("```toml\n", 1)[1].split("```", 1)[1]
    blocks = after.split("```\n")[1::2]
    (samples,) = (block.splitlines() for block in blocks if "unknown key" in block)
    shown = [line.split("config.toml", 1)[1] for line in samples if line]
    assert shown[0] == str(caught(tmp_path, "scrolback = 1")).split("config.toml", 1)[1]
    assert shown[1] == str(caught(tmp_path, 'usage-interval = "5s"')).split("config.toml", 1)[1]
    bad = "scrollback = 1000\nobserve = true\nusername = \n"
    assert shown[2] == str(caught(tmp_path, bad)).split("config.toml", 1)[1]
    # Every action the README lists is one [keys] takes (actions added since are listed
    # by --print-config).
    listed = section.split("for the actions", 1)[1].split("(Textual key", 1)[0]
    names = set(re.findall(r"`([a-z-]+)`", listed.split("):", 1)[1]))
    assert names <= {action.replace("_", "-") for action in KEY_ACTIONS}
    assert {"quit", "interrupt", "toggle-panes", "restart", "run"} <= names


def caught(tmp_path: Path, text: str) -> ConfigError:
    """The error loading `text` as a config file raises."""
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, text))
    return error.value


def test_default_settings_from_the_parser_and_the_apps_bindings() -> None:
    parser = _parser()
    defaults = default_settings(parser, keyed_bindings(), "textual-dark")
    assert defaults["scrollback"] == 50_000
    assert defaults["usage-interval"] == 5.0
    assert defaults["kernel"] is None
    assert defaults["theme"] == "textual-dark"
    assert defaults["keys.interrupt"] == "ctrl+c"
    assert defaults["keys.toggle-panes"] == "f2"
    assert {key for key in defaults if key.startswith("keys.")} == {
        f"keys.{action.replace('_', '-')}" for action in KEY_ACTIONS
    }
    # Whatever the parser holds when called: so the CLI calls it before set_defaults.
    parser.set_defaults(scrollback=1000)
    assert default_settings(parser, (), "nord")["scrollback"] == 1000
