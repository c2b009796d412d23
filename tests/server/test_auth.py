"""Login, and that every route refuses a request without the right credential."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from server.accounts import Role
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
