"""`nbtui --server` from the command line, against a real Jupyter Server on loopback.

Bad input gives one line on stderr starting `nbtui: ` and exit status 2, never a traceback;
argparse misuse gives its usage and status 2. `--list` prints the server's kernels as a
table or as JSON. Whatever happens, the token never shows in what nbtui prints.

Each case runs the installed console script in a subprocess with no terminal (stdin is
/dev/null), and without the host's JUPYTER_TOKEN or NBTUI_TOKEN: every token a case uses
is given on purpose.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import JupyterServerProcess, nbtui_script
from tests.integration.test_cli_errors import free_ports, one_line_error

TOKEN_VARIABLES = ("JUPYTER_TOKEN", "NBTUI_TOKEN")
TOKEN_WARNING = (
    "nbtui: other users could see the command line's token in ps; set JUPYTER_TOKEN instead\n"
)
"""What nbtui says first when given a token on its command line (--token, or in the URL)."""


def run_nbtui(
    *args: str, cwd: Path, token: str | None = None, deadline: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run nbtui with the test's environment and no terminal; `token` in JUPYTER_TOKEN."""
    env = {name: value for name, value in os.environ.items() if name not in TOKEN_VARIABLES}
    if token is not None:
        env["JUPYTER_TOKEN"] = token
    return subprocess.run(
        [nbtui_script(), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=deadline,
        check=False,
    )


def server_error(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """The one error line, after checking its shape, status 2, and that no secret shows
    (after the warning about a token on the command line, if there was one)."""
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, "a token was printed"
    stderr = result.stderr.removeprefix(TOKEN_WARNING)
    line = one_line_error(
        subprocess.CompletedProcess(result.args, result.returncode, result.stdout, stderr)
    )
    assert result.returncode == 2, result
    return line


def usage_error(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """argparse's complaint: usage, then `nbtui: error: ...`, status 2."""
    for secret in secrets:
        assert secret not in result.stdout + result.stderr, "a token was printed"
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("nbtui: error: "), result.stderr
    return last


def closed_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_ports(1)[0]}"


# -- the token --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["--token", "JUPYTER_TOKEN", "URL"])
def test_wrong_token(tmp_path: Path, jupyter_server: JupyterServerProcess, how: str) -> None:
    wrong = "wrong-token-5f0e1d2c3b4a"
    url = jupyter_server.url
    args = ["--list"]
    if how == "--token":
        args += ["--token", wrong]
    elif how == "URL":
        url = f"{url}/?token={wrong}"
    result = run_nbtui(
        "--server", url, *args, cwd=tmp_path, token=wrong if how == "JUPYTER_TOKEN" else None
    )
    line = server_error(result, wrong, jupyter_server.token)
    assert result.stderr.startswith(TOKEN_WARNING) == (how != "JUPYTER_TOKEN")
    source = {"URL": "the URL"}.get(how, how)
    assert line == (
        f"nbtui: the Jupyter Server at {jupyter_server.url} said 403: "
        f"the token from {source} was refused"
    )


def test_no_token(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    kernel_id = jupyter_server.start_kernel()
    result = run_nbtui("--server", jupyter_server.url, "--kernel-id", kernel_id, cwd=tmp_path)
    line = server_error(result, jupyter_server.token)
    assert f"{jupyter_server.url} said 403" in line
    assert "needs a token" in line
    assert "JUPYTER_TOKEN" in line


def test_wrong_token_starts_nothing(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    result = run_nbtui(
        "--server",
        jupyter_server.url,
        "--kernel",
        "python3",
        cwd=tmp_path,
        token="wrong-token-5f0e1d2c3b4a",
    )
    assert "was refused" in server_error(result, jupyter_server.token)
    assert jupyter_server.kernel_ids() == []


# -- the server --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--list"], id="list"),
        pytest.param(["--list", "--json"], id="list-json"),
        pytest.param([], id="attach"),
        pytest.param(["--kernel-id", "4342f6"], id="kernel-id"),
        pytest.param(["--kernel", "python3"], id="kernel"),
    ],
)
def test_unreachable_server(tmp_path: Path, args: list[str]) -> None:
    url = closed_url()
    secret = "closed-port-token-9a8b7c"
    line = server_error(run_nbtui("--server", url, *args, cwd=tmp_path, token=secret), secret)
    assert line == f"nbtui: cannot reach the Jupyter Server at {url}: connection refused"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://127.0.0.1:8888", id="ftp"),
        pytest.param("ws://127.0.0.1:8888", id="ws"),
        pytest.param("file:///tmp/server", id="file"),
        pytest.param("http://", id="no-host"),
    ],
)
def test_not_an_http_url(tmp_path: Path, url: str) -> None:
    line = server_error(run_nbtui("--server", url, "--list", cwd=tmp_path))
    assert "--server wants an http(s) URL" in line


def test_not_an_http_url_keeps_its_token_secret(tmp_path: Path) -> None:
    secret = "url-token-0d1e2f3a4b5c"
    result = run_nbtui("--server", f"ftp://127.0.0.1:8888/?token={secret}", "--list", cwd=tmp_path)
    assert "--server wants an http(s) URL" in server_error(result, secret)


def test_a_password_in_the_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "basic-password-6a5b4c"
    result = run_nbtui("--server", f"http://ann:{secret}@127.0.0.1:8888", "--list", cwd=tmp_path)
    assert "no user:password@" in server_error(result, secret)


def test_the_urls_token_beats_a_stale_one_in_the_environment(
    tmp_path: Path,
    jupyter_server: JupyterServerProcess,
) -> None:
    result = run_nbtui(
        "--server",
        f"{jupyter_server.url}/?token={jupyter_server.token}",
        "--list",
        cwd=tmp_path,
        token="stale-token-1f2e3d",
    )
    assert result.returncode == 0, result.stderr
    assert jupyter_server.token not in result.stdout + result.stderr


class _NotJupyter(http.server.BaseHTTPRequestHandler):
    """A web server that is not a Jupyter Server: HTML at /, 404 at /api/."""

    def do_GET(self) -> None:
        status, body = (
            (404, b"not here") if self.path.startswith("/api/") else (200, b"<html>a wiki</html>")
        )
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _HtmlEverywhere(_NotJupyter):
    """A web server answering 200 and HTML to anything (a login page, a proxy)."""

    def do_GET(self) -> None:
        self.path = "/"
        super().do_GET()


@pytest.fixture
def web_server() -> Iterator[Callable[[type[http.server.BaseHTTPRequestHandler]], str]]:
    """Start a plain web server on loopback with a given handler; its URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(handler: type[http.server.BaseHTTPRequestHandler]) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        pytest.param(_NotJupyter, "(/api/kernels: 404)", id="404"),
        pytest.param(_HtmlEverywhere, "/api/kernels did not answer JSON", id="html"),
    ],
)
def test_not_a_jupyter_server(
    tmp_path: Path,
    web_server: Callable[[type[http.server.BaseHTTPRequestHandler]], str],
    handler: type[http.server.BaseHTTPRequestHandler],
    expected: str,
) -> None:
    url = web_server(handler)
    secret = "web-token-6c5d4e3f"
    line = server_error(run_nbtui("--server", url, "--list", cwd=tmp_path, token=secret), secret)
    assert f"{url} does not look like a Jupyter Server" in line
    assert expected in line


# -- which kernel ------------------------------------------------------------------------


def test_unknown_kernel_id(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    kernel_id = jupyter_server.start_kernel()
    result = run_nbtui(
        "--server",
        jupyter_server.url,
        "--kernel-id",
        "ffff0000nope",
        cwd=tmp_path,
        token=jupyter_server.token,
    )
    line = server_error(result, jupyter_server.token)
    assert line == (
        f"nbtui: no kernel 'ffff0000nope' on {jupyter_server.url} (it has: {kernel_id[:8]})"
    )
    assert jupyter_server.kernel_ids() == [kernel_id]


def _two_kernels(server: JupyterServerProcess) -> list[str]:
    """Two kernels whose ids share the prefix 5eed0000 (the server takes ids given)."""
    ids = ["5eed0000-0000-4000-8000-00000000000a", "5eed0000-0000-4000-8000-00000000000b"]
    for kernel_id in ids:
        model = server.api("POST", "/api/kernels", {"name": "python3", "kernel_id": kernel_id})
        assert isinstance(model, dict)
        if model["id"] != kernel_id:
            pytest.skip("this Jupyter Server does not take a kernel id from its client")
    return ids


def test_ambiguous_kernel_id(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    ids = _two_kernels(jupyter_server)
    result = run_nbtui(
        "--server",
        jupyter_server.url,
        "--kernel-id",
        "5eed",
        cwd=tmp_path,
        token=jupyter_server.token,
    )
    line = server_error(result, jupyter_server.token)
    assert line == (
        f"nbtui: '5eed' matches 2 kernels on {jupyter_server.url} "
        f"({ids[0]}, {ids[1]}): give more of the id"
    )


def test_several_kernels_and_no_terminal(
    tmp_path: Path, jupyter_server: JupyterServerProcess
) -> None:
    ids = _two_kernels(jupyter_server)
    result = run_nbtui("--server", jupyter_server.url, cwd=tmp_path, token=jupyter_server.token)
    line = server_error(result, jupyter_server.token)
    assert f"{jupyter_server.url} has 2 kernels" in line
    assert "--kernel-id" in line
    assert sorted(jupyter_server.kernel_ids()) == ids


def test_unknown_kernel_name(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    result = run_nbtui(
        "--server",
        jupyter_server.url,
        "--kernel",
        "nosuchkernel",
        cwd=tmp_path,
        token=jupyter_server.token,
    )
    line = server_error(result, jupyter_server.token)
    assert line == (
        f"nbtui: no kernel named 'nosuchkernel' on {jupyter_server.url} (it has: python3)"
    )
    assert jupyter_server.kernel_ids() == []


# -- argparse ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--token", "argv-token-1a2b3c"],
            "--token and --kernel-id go with --server",
            id="token-without-server",
        ),
        pytest.param(
            ["--kernel-id", "4342f6"],
            "--token and --kernel-id go with --server",
            id="kernel-id-without-server",
        ),
        pytest.param(
            ["--server", "SERVER", "--existing"],
            "--server goes without --existing",
            id="server-and-existing",
        ),
        pytest.param(
            ["--server", "SERVER", "--existing", "kernel-1.json"],
            "--server goes without --existing",
            id="server-and-existing-file",
        ),
        pytest.param(
            ["--server", "SERVER", "--pick"], "--server goes without", id="server-and-pick"
        ),
        pytest.param(
            ["--server", "SERVER", "--prune"], "--server goes without", id="server-and-prune"
        ),
        pytest.param(
            ["--server", "SERVER", "--kernel-id", "4342f6", "--kernel", "python3"],
            "not both",
            id="kernel-id-and-kernel",
        ),
        pytest.param(
            ["--server", "SERVER", "--list", "/tmp"], "not --server", id="server-and-dirs"
        ),
        pytest.param(
            ["--server", "SERVER", "--json"], "--json goes with --list", id="json-without-list"
        ),
    ],
)
def test_argparse_misuse(tmp_path: Path, args: list[str], expected: str) -> None:
    secret = "argv-token-1a2b3c"
    url = f"{closed_url()}/?token={secret}"
    result = run_nbtui(
        *[url if arg == "SERVER" else arg for arg in args], cwd=tmp_path, deadline=30
    )
    assert expected in usage_error(result, secret)


# -- listing -----------------------------------------------------------------------------


def test_list_table(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    kernel_id = jupyter_server.start_kernel()
    result = run_nbtui(
        "--server", jupyter_server.url, "--list", cwd=tmp_path, token=jupyter_server.token
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert jupyter_server.token not in result.stdout
    header, *rows = result.stdout.splitlines()
    assert re.fullmatch(r"ID\s+NAME\s+STATE\s+CONN\s+LAST ACTIVITY", header)
    assert len(rows) == 1
    assert re.match(rf"{re.escape(kernel_id)}\s+python3\s+\w+\s+\d+\s+\S", rows[0]), rows


def test_list_json(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    kernel_id = jupyter_server.start_kernel()
    result = run_nbtui(
        "--server", jupyter_server.url, "--list", "--json", cwd=tmp_path, token=jupyter_server.token
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert jupyter_server.token not in result.stdout
    [kernel] = json.loads(result.stdout)
    assert set(kernel) == {"id", "name", "execution_state", "connections", "last_activity"}
    assert kernel["id"] == kernel_id
    assert kernel["name"] == "python3"
    assert isinstance(kernel["execution_state"], str)
    assert kernel["execution_state"]
    assert isinstance(kernel["connections"], int)
    assert isinstance(kernel["last_activity"], str)
    assert kernel["last_activity"]


def test_list_no_kernels(tmp_path: Path, jupyter_server: JupyterServerProcess) -> None:
    table = run_nbtui(
        "--server", jupyter_server.url, "--list", cwd=tmp_path, token=jupyter_server.token
    )
    assert table.returncode == 0, table.stderr
    assert table.stdout == f"no kernels on {jupyter_server.url}\n"
    as_json = run_nbtui(
        "--server", jupyter_server.url, "--list", "--json", cwd=tmp_path, token=jupyter_server.token
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == []


@pytest.mark.parametrize(
    "form",
    [
        "{url}/?token={token}",
        "{url}?token={token}",
        "{url}/lab?token={token}",
        "127.0.0.1:{port}/?token={token}",
    ],
)
def test_token_in_the_url(tmp_path: Path, jupyter_server: JupyterServerProcess, form: str) -> None:
    """The URL `jupyter server` prints works as it is, with no JUPYTER_TOKEN."""
    kernel_id = jupyter_server.start_kernel()
    url = form.format(url=jupyter_server.url, port=jupyter_server.port, token=jupyter_server.token)
    result = run_nbtui("--server", url, "--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == TOKEN_WARNING
    assert kernel_id in result.stdout
    assert jupyter_server.token not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-kernels"),
        pytest.param(["--kernel", "python3"], id="kernel"),
    ],
)
def test_no_kernel_is_started_without_a_terminal(
    tmp_path: Path,
    jupyter_server: JupyterServerProcess,
    args: list[str],
) -> None:
    """Without a terminal the app could never be quit: nothing is asked of the server."""
    result = run_nbtui(
        "--server", jupyter_server.url, *args, cwd=tmp_path, token=jupyter_server.token
    )
    assert "needs a terminal" in server_error(result, jupyter_server.token)
    assert jupyter_server.kernel_ids() == []
