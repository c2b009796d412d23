"""Login, and that every route refuses a request without the right credential."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from server import Settings, create_app
from server.accounts import Role
from server.cli import main
from server.config import parse_trusted_proxies
from server.db import web_sessions
from server.errors import ConfigError
from server.i18n import MESSAGES, translate
from server.ratelimit import RateLimit
from server.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.server.conftest import PASSWORD, TestClient, World, make_user

PUBLIC = {("GET", "/api/v1/keys"), ("POST", "/api/v1/auth/token")}
# The anonymous visitor's booking API (rate limited) and booking pages; nothing else is open.
PUBLIC_API_PREFIX = "/api/v1/public/"
VISITOR_PAGES = {
    ("GET", "/"),
    ("GET", "/book/placeholder"),
    ("POST", "/book/placeholder"),
    ("GET", "/permit/placeholder"),
}
# the staff login form and its POST (CSRF double-submit); tests/server/test_roles_matrix.py walks every role
STAFF_LOGIN = {("GET", "/login"), ("POST", "/login")}
# FastAPI's own documentation routes are plain Routes, not APIRoutes; /static is the pages' CSS and JS
DOCS = {"/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc", "/static"}


# guarded by its own rule (this host, or the metrics token; not user or device tokens): tests/server/test_metrics.py
OWN_GUARD = {("GET", "/metrics")}


def is_public(call: tuple[str, str]) -> bool:
    return call in PUBLIC or call in VISITOR_PAGES or call in STAFF_LOGIN or call[1].startswith(PUBLIC_API_PREFIX)


def api_calls(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, path parameters filled with a placeholder.

    FastAPI resolves included routers lazily; ``iter_route_contexts`` yields the routes as mounted.
    """
    calls = []
    for route in iter_route_contexts(app.routes):
        assert route.path is not None
        if isinstance(route.original_route, APIRoute):
            path = re.sub(r"\{[^}]+\}", "placeholder", route.path)
            calls += [(method, path) for method in sorted(route.methods or ())]
        else:
            assert route.path in DOCS, f"unexpected non-API route {route.path}"
    return calls


def test_login_gives_a_bearer_token_and_refuses_wrong_passwords(app: FastAPI, client: TestClient) -> None:
    make_user(app, "root", Role.ADMIN)
    response = client.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["access_token"].startswith("qu_")
    for name, password in (("root", "wrong"), ("nobody", PASSWORD)):
        refused = client.post("/api/v1/auth/token", data={"username": name, "password": password})
        assert refused.status_code == 401
        assert refused.json() == {"detail": "incorrect user name or password"}
    assert client.post("/api/v1/auth/token", json={"username": "root"}).status_code == 422


def test_every_route_refuses_anonymous_and_wrong_credentials(world: World) -> None:
    client = world.client
    app = client.app
    assert isinstance(app, FastAPI)
    calls = api_calls(app)
    assert set(calls) >= PUBLIC | VISITOR_PAGES
    guarded = [call for call in calls if not is_public(call) and call not in OWN_GUARD]
    assert len(guarded) >= 12
    for method, path in guarded:
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        forged = client.request(method, path, headers={"Authorization": "Bearer forged-token"})
        assert forged.status_code == 401, (method, path, forged.text)
        if path.startswith("/api/v1/gate/"):
            wrong = client.request(method, path, headers=world.admin)
        else:
            wrong = client.request(method, path, headers=world.entry_device)
        assert wrong.status_code == 403, (method, path, wrong.text)
        if path.startswith("/api/"):
            assert "detail" in wrong.json()
        else:  # a page answers with a page in the reader's language, never with JSON
            assert wrong.headers["content-type"].startswith("text/html") and 'id="error"' in wrong.text


def test_public_routes_answer_without_credentials(client: TestClient) -> None:
    assert client.get("/api/v1/keys").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("who", ["manager", "ranger"])
def test_staff_of_one_park_cannot_touch_another(world: World, who: str) -> None:
    headers = getattr(world, who)
    other = {"slug": "charyn", "name": "Charyn"}
    assert world.client.post("/api/v1/parks", json=other, headers=world.admin).status_code == 201
    assert world.client.get("/api/v1/parks/charyn/occupancy", headers=headers).status_code == 403
    assert world.client.get("/api/v1/parks", headers=headers).json()[0]["slug"] == "altyn"
    assert len(world.client.get("/api/v1/parks", headers=headers).json()) == 1
    body = {"park": "charyn", "valid_from": 0, "valid_until": 10, "party": [1, 0, 0]}
    assert world.client.post("/api/v1/permits", json=body, headers=headers).status_code == 403
    assert world.count("permits") == 0


def test_only_an_admin_creates_parks_and_rangers_no_gates(world: World) -> None:
    body = {"slug": "charyn", "name": "Charyn"}
    assert world.client.post("/api/v1/parks", json=body, headers=world.manager).status_code == 403
    gate = {"slug": "west", "name": "West", "direction": "entry"}
    assert world.client.post("/api/v1/parks/altyn/gates", json=gate, headers=world.ranger).status_code == 403
    assert world.client.post("/api/v1/parks/altyn/gates", json=gate, headers=world.manager).status_code == 201
    assert world.count("parks") == 1


def test_a_new_device_token_replaces_the_old(world: World) -> None:
    old = world.entry_device
    response = world.client.post("/api/v1/parks/altyn/gates/east-in/device", headers=world.manager)
    assert response.status_code == 201
    new = {"Authorization": f"Bearer {response.json()['device_token']}"}
    assert world.client.get("/api/v1/gate/sync", headers=old).status_code == 401
    assert world.client.get("/api/v1/gate/sync", headers=new).status_code == 200


PROXY = "10.0.0.7"


def _proxied_app(
    data_dir: Path, db_url: str, per_address: RateLimit | None = None, per_user: RateLimit | None = None
) -> Iterator[FastAPI]:
    defaults = Settings.for_data_dir(data_dir, db_url)
    settings = dataclasses.replace(
        defaults,
        login_rate_address=per_address or defaults.login_rate_address,
        login_rate_user=per_user or defaults.login_rate_user,
        trusted_proxies=parse_trusted_proxies(f"{PROXY}, 192.168.0.0/16"),
    )
    app = create_app(settings)
    make_user(app, "root", Role.ADMIN)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def guarded(tmp_path: Path, db_url: str) -> Iterator[FastAPI]:
    """The app with small login limits (3 tries per address, 4 wrong passwords per user name, of which one
    address may spend 2) behind a trusted proxy."""
    yield from _proxied_app(
        tmp_path / "guarded",
        db_url,
        per_address=RateLimit(per_minute=1, burst=3),
        per_user=RateLimit(per_minute=1, burst=4),
    )


@pytest.fixture
def proxied(tmp_path: Path, db_url: str) -> Iterator[FastAPI]:
    """The app with the default login limits behind a trusted proxy."""
    yield from _proxied_app(tmp_path / "proxied", db_url)


def _login_form(client: TestClient, headers: dict[str, str], username: str = "root") -> tuple[int, Any]:
    form = client.get("/login", headers=headers)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    data = {"username": username, "password": "wrong", "csrf": token.group(1)}
    response = client.post("/login", data=data, headers=headers, follow_redirects=False)
    return response.status_code, response


def test_login_attempts_are_limited_per_address(guarded: FastAPI) -> None:
    with TestClient(guarded, client=(PROXY, 4000)) as client:
        visitor = {"X-Forwarded-For": "203.0.113.5", "Accept-Language": "kk"}
        assert [_login_form(client, visitor, name)[0] for name in ("root", "admin", "ranger")] == [401, 401, 401]
        status, refused = _login_form(client, visitor)
        assert status == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-language"] == "kk"
        wait = refused.headers["retry-after"]
        assert translate("kk", MESSAGES["login_rate_limited"], seconds=int(wait)) in refused.text
        # even the right password waits, and no session starts
        form = client.get("/login", headers=visitor)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        right = {"username": "root", "password": PASSWORD, "csrf": csrf.group(1)}
        assert client.post("/login", data=right, headers=visitor, follow_redirects=False).status_code == 429
        token = client.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD}, headers=visitor)
        assert token.status_code == 429
        assert token.json()["code"] == "login_rate_limited" and int(token.headers["retry-after"]) >= 1
        # another address, through the same trusted proxy, still may try
        assert _login_form(client, {"X-Forwarded-For": "203.0.113.6"})[0] == 401
    with guarded.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(web_sessions)).scalar_one() == 0


def test_login_attempts_are_limited_per_user_name_across_addresses(guarded: FastAPI) -> None:
    with TestClient(guarded, client=(PROXY, 4000)) as client:
        statuses = [
            client.post(
                "/api/v1/auth/token",
                data={"username": name, "password": "wrong"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i, name in enumerate(("root", "ROOT", " root", "root", "root"))
        ]
        assert statuses == [401, 401, 401, 401, 429]  # the fifth try at one name, from a fifth address
        # the bound holds for the right password too: a guess that happened to be right would tell the guesser
        right = {"username": "root", "password": PASSWORD}
        assert (
            client.post("/api/v1/auth/token", data=right, headers={"X-Forwarded-For": "198.51.100.9"}).status_code
            == 429
        )
        other = client.post("/api/v1/auth/token", data={"username": "nobody"}, headers={"X-Forwarded-For": "1.2.3.4"})
        assert other.status_code == 422  # another name is not held up (and the form is incomplete)


def test_an_untrusted_client_cannot_claim_another_address(guarded: FastAPI) -> None:
    with TestClient(guarded, client=("203.0.113.9", 4000)) as client:
        names = ("root", "admin", "ranger", "manager")
        statuses = [_login_form(client, {"X-Forwarded-For": f"198.51.100.{i}"}, names[i])[0] for i in range(4)]
        assert statuses == [401, 401, 401, 429]  # X-Forwarded-For from a client, not a proxy, is ignored


def test_one_address_cannot_lock_a_user_out(proxied: FastAPI) -> None:
    """One address may spend only half of a name's wrong passwords (defaults: 5 of 10), however fast it tries."""
    with TestClient(proxied, client=(PROXY, 4000)) as client:
        flood = {"X-Forwarded-For": "203.0.113.66"}
        wrong = {"username": "root", "password": "wrong"}
        statuses = [client.post("/api/v1/auth/token", data=wrong, headers=flood).status_code for _ in range(20)]
        assert statuses == [401] * 5 + [429] * 15
        right = {"username": "root", "password": PASSWORD}
        admin = {"X-Forwarded-For": "198.51.100.20"}
        assert client.post("/api/v1/auth/token", data=right, headers=admin).status_code == 200
        assert _login_form(client, {"X-Forwarded-For": "198.51.100.21"})[0] == 401  # the page still checks too
        # a second address may spend the rest (4 left, more if the name refilled meanwhile): the bound holds
        other = {"X-Forwarded-For": "203.0.113.67"}
        statuses = [client.post("/api/v1/auth/token", data=wrong, headers=other).status_code for _ in range(6)]
        assert statuses[:4] == [401] * 4 and statuses[-1] == 429


def test_only_wrong_passwords_count_against_a_name(guarded: FastAPI) -> None:
    with TestClient(guarded, client=(PROXY, 4000)) as client:
        right = {"username": "root", "password": PASSWORD}
        statuses = [
            client.post("/api/v1/auth/token", data=right, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(6)
        ]
        assert statuses == [200] * 6  # more than the name's 4, each from an address within its own limit


def test_the_session_cookie_is_secure_over_https(guarded: FastAPI) -> None:
    def secure_cookies(client: TestClient, headers: dict[str, str]) -> tuple[bool, bool]:
        """Whether the login form's cookie and then the session cookie are marked Secure."""
        form = client.get("/login", headers=headers)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        data = {"username": "root", "password": PASSWORD, "csrf": csrf.group(1)}
        # sent by hand: the test client talks plain HTTP to a proxied app and keeps Secure cookies to itself
        sent = {**headers, "Cookie": f"{LOGIN_CSRF_COOKIE}={form.cookies[LOGIN_CSRF_COOKIE]}"}
        response = client.post("/login", data=data, headers=sent, follow_redirects=False)
        assert response.status_code == 303
        cookie: str = response.headers["set-cookie"]
        assert cookie.startswith(SESSION_COOKIE) and "httponly" in cookie.lower()
        return "secure" in form.headers["set-cookie"].lower(), "secure" in cookie.lower()

    with TestClient(guarded, base_url="https://testserver") as client:
        assert secure_cookies(client, {}) == (True, True)
    with TestClient(guarded, client=("192.168.4.4", 4000)) as client:
        # a trusted proxy that terminates TLS says so; the app itself was reached over plain HTTP
        assert secure_cookies(client, {"X-Forwarded-Proto": "https"}) == (True, True)
    with TestClient(guarded, client=("203.0.113.10", 4000)) as client:
        assert secure_cookies(client, {"X-Forwarded-Proto": "https"}) == (False, False)  # not a proxy we trust


def test_trusted_proxies_come_from_the_environment_and_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"QAQPA_DATA_DIR": str(tmp_path), "QAQPA_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    assert Settings.from_env(environ=env).trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert Settings.from_env(environ={"QAQPA_DATA_DIR": str(tmp_path)}).trusted_proxies == ()
    with pytest.raises(ConfigError, match="not an IP address"):
        Settings.from_env(environ={**env, "QAQPA_TRUSTED_PROXIES": "proxy.example"})
    monkeypatch.setenv("QAQPA_DATA_DIR", str(tmp_path))
    assert main(["serve", "--trusted-proxies", "10.0.0.1,proxy.example"]) == 1  # refused before serving
    assert "trusted proxy 'proxy.example' is not an IP address or network" in capsys.readouterr().err
