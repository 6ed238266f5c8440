"""Where a user's server sits on a JupyterHub, from the URL a user gives."""

from __future__ import annotations

import pytest

from nbtui.app.kernel.hub import HubRoute, user_route
from nbtui.app.kernel.server import server_token


def test_a_users_server_url_is_a_route_to_it() -> None:
    route = user_route("https://hub.example/user/alice")
    assert route == HubRoute("https://hub.example", "", "alice")
    assert route.server_url == "https://hub.example/user/alice"
    assert route.start_path == "/users/alice/server"
    assert route.whose == "alice's server"


def test_a_named_server_under_a_base_path_and_a_quoted_name() -> None:
    route = user_route("https://example.org/jupyter/user/a%40b.org/gpu")
    assert route == HubRoute("https://example.org", "/jupyter", "a@b.org", "gpu")
    assert route.hub_url == "https://example.org/jupyter"
    assert route.server_url == "https://example.org/jupyter/user/a%40b.org/gpu"
    assert route.start_path == "/users/a%40b.org/servers/gpu"
    assert route.whose == "a@b.org's server 'gpu'"


def test_other_urls_are_no_route() -> None:
    assert user_route("http://127.0.0.1:8888") is None
    assert user_route("https://hub.example/hub") is None
    assert user_route("https://hub.example/user/alice/lab/tree/x.ipynb") is None


def test_a_hub_api_token_in_the_environment_is_used_last(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JUPYTER_TOKEN", "NBTUI_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub")
    assert server_token(None) == ("hub", "JUPYTERHUB_API_TOKEN")
    monkeypatch.setenv("JUPYTER_TOKEN", "jupyter")
    assert server_token(None) == ("jupyter", "JUPYTER_TOKEN")
