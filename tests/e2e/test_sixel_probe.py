"""`--images auto` asks the terminal for its device attributes once, before Textual starts,
and draws sixel when the answer says so (issue 19): checked on a real pseudo-terminal
where the test plays the terminal, with `nbtui --print-config` (no kernel needed)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import pytest

from tests.conftest import nbtui_script


def _print_config_on_a_pty(environ: dict[str, str], answer: bytes | None) -> tuple[bytes, str]:
    """Run `nbtui --print-config` on a pty; answer its DA1 query with `answer` (None: stay
    silent, as a terminal that does not know it would). Returns what the terminal got
    before the answer and the output."""
    master, slave = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TERM_PROGRAM")}
    env.update(environ)
    process = subprocess.Popen(
        [nbtui_script(), "--print-config"], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    got = b""
    query = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the pty: it has ended
                    break
                if not chunk:
                    break
                got += chunk
                if not query and b"\x1b[c" in got:
                    query, got = got, b""
                    if answer is not None:
                        os.write(master, answer)
            elif process.poll() is not None:
                break
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return query, got.decode(errors="replace")


@pytest.mark.parametrize(
    ("answer", "mode"),
    [(b"\x1b[?62;4;22c", "sixel"), (b"\x1b[?62;22c", "halfblock"), (None, "halfblock")],
    ids=["sixel", "no sixel", "no answer"],
)
def test_auto_draws_sixel_where_the_terminal_says_so(answer: bytes | None, mode: str) -> None:
    query, output = _print_config_on_a_pty({"TERM": "xterm-256color"}, answer)
    # One DA1 query, and nothing else asked of the terminal.
    assert query.endswith(b"\x1b[c") and query.count(b"\x1b") == 1
    assert f"# images: {mode} (" in output


def test_a_known_terminal_is_not_asked() -> None:
    query, output = _print_config_on_a_pty({"TERM": "foot"}, None)
    assert query == b""
    assert "# images: sixel (sixel: TERM or TERM_PROGRAM names foot)" in output
