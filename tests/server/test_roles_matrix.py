"""Every route × role: admin, manager of the park, manager of another park, ranger, device token, anonymous.

``MATRIX`` names who may call each route. A route missing from it fails the test, so a new route cannot
forget to say (and have checked) who may use it. "Allowed" means the answer is neither 401 nor 403;
"refused" means it is one of them.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from server.accounts import Role, authenticate
from server.web.auth import SESSION_COOKIE, create_session, session_for
from tests.server.conftest import PARK, PASSWORD, World, make_user

ROLES = ("admin", "manager", "other_manager", "ranger", "device", "anonymous")
# who may: every role of the park (read), its manager (manage), any staff user, only the admin, a device
WHO = {
    "public": set(ROLES),
    "read": {"admin", "manager", "ranger"},
    "manage": {"admin", "manager"},
    "user": {"admin", "manager", "other_manager", "ranger"},
    "admin": {"admin"},
    "device": {"device"},
}
P = "/api/v1"
MATRIX: dict[tuple[str, str], str] = {
    ("POST", f"{P}/auth/token"): "public",
    ("GET", f"{P}/keys"): "public",
    ("GET", f"{P}/parks"): "user",
    ("POST", f"{P}/parks"): "admin",
    ("GET", f"{P}/parks/{{park}}"): "read",
    ("GET", f"{P}/parks/{{park}}/gates"): "read",
    ("POST", f"{P}/parks/{{park}}/gates"): "manage",
    ("POST", f"{P}/parks/{{park}}/gates/{{gate}}/device"): "manage",
    ("POST", f"{P}/permits"): "read",
    ("GET", f"{P}/permits/{{permit_id}}"): "read",
    ("GET", f"{P}/permits/{{permit_id}}/qr.png"): "read",
    ("POST", f"{P}/permits/{{permit_id}}/revoke"): "read",
    ("POST", f"{P}/cards"): "manage",
    ("GET", f"{P}/cards"): "user",
    ("GET", f"{P}/cards/{{uid}}"): "read",
    ("PATCH", f"{P}/cards/{{uid}}"): "manage",
    ("POST", f"{P}/cards/{{uid}}/deactivate"): "manage",
    ("POST", f"{P}/vehicle-passes"): "manage",
    ("GET", f"{P}/vehicle-passes"): "user",
    ("GET", f"{P}/vehicle-passes/{{plate}}"): "read",
    ("PATCH", f"{P}/vehicle-passes/{{plate}}"): "manage",
    ("POST", f"{P}/vehicle-passes/{{plate}}/deactivate"): "manage",
    ("GET", f"{P}/gate/sync"): "device",
    ("POST", f"{P}/gate/events"): "device",
    ("GET", f"{P}/parks/{{park}}/stats"): "read",
    ("GET", f"{P}/parks/{{park}}/occupancy"): "read",
    ("GET", f"{P}/parks/{{park}}/dashboard"): "read",
    ("PUT", f"{P}/parks/{{park}}/limits"): "manage",
    ("GET", f"{P}/parks/{{park}}/slots"): "read",
    ("PUT", f"{P}/parks/{{park}}/slots"): "manage",
    ("GET", f"{P}/parks/{{park}}/zones"): "read",
    ("POST", f"{P}/parks/{{park}}/zones"): "manage",
    ("PUT", f"{P}/parks/{{park}}/zones/{{zone}}/limits"): "manage",
    ("PUT", f"{P}/parks/{{park}}/gates/{{gate}}/zone"): "manage",
    ("GET", f"{P}/parks/{{park}}/export.csv"): "manage",
    ("GET", f"{P}/parks/{{park}}/export.csv-metadata.json"): "manage",
    ("GET", f"{P}/public/parks"): "public",
    ("GET", f"{P}/public/parks/{{park}}/availability"): "public",
    ("POST", f"{P}/public/quote"): "public",
    ("POST", f"{P}/public/bookings"): "public",
    ("GET", f"{P}/public/permits/{{permit_id}}"): "public",
    ("GET", f"{P}/public/permits/{{permit_id}}/qr.png"): "public",
    ("GET", f"{P}/public/permits/{{permit_id}}/permit.pdf"): "public",
    ("GET", "/"): "public",
    ("GET", "/permit/{permit_id}"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "user",
    ("GET", "/dashboard"): "user",
    ("GET", "/dashboard/{park}"): "read",
    ("POST", "/dashboard/{park}/limits"): "manage",
    ("GET", "/permits"): "user",
    ("GET", "/permits/{permit_id}"): "read",
    ("POST", "/permits/{permit_id}/revoke"): "read",
    ("POST", "/permits"): "read",
    ("GET", "/permits/{permit_id}/qr.png"): "read",
    # Prometheus scrape: its own token or loopback only (server.metrics, tested there), no user roles
    ("GET", "/metrics"): "scrape",
}
PAGES_OF_THE_BOOKING_HELPER_PREFIXES = ("/book",)  # visitor pages: public, listed as they are added


def routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.path is not None:
            found += [(method, route.path) for method in sorted(route.original_route.methods or ())]
    return found


def test_every_route_is_in_the_matrix(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    missing = [
        call
        for call in routes(app)
        if call not in MATRIX and not call[1].startswith(PAGES_OF_THE_BOOKING_HELPER_PREFIXES)
    ]
    assert not missing, f"say who may call these routes in MATRIX: {missing}"


def test_no_route_does_its_work_on_the_event_loop(app: FastAPI) -> None:
    # the database is synchronous: FastAPI runs a plain ``def`` route in its threadpool, while an ``async def``
    # one runs on the event loop and stalls every other request while it waits on the database
    on_the_loop = [
        route.path
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and inspect.iscoroutinefunction(route.original_route.endpoint)
    ]
    assert on_the_loop == []


def _sessions(world: World) -> dict[str, tuple[str, str]]:
    """Session cookie and CSRF token per staff role."""
    app: Any = world.client.app
    found = {}
    with app.state.engine.begin() as conn:
        for role, name in (("admin", "root"), ("manager", "manager"), ("other_manager", "other"), ("ranger", "ranger")):
            user = authenticate(conn, name, PASSWORD)
            assert user is not None
            cookie = create_session(conn, user)
            session = session_for(conn, cookie)
            assert session is not None
            found[role] = (cookie, session.csrf)
    return found


def test_who_may_call_what(world: World) -> None:
    client = world.client
    app = client.app
    assert isinstance(app, FastAPI)
    assert client.post(f"{P}/parks", json={"slug": "charyn", "name": "Charyn"}, headers=world.admin).status_code == 201
    make_user(app, "other", Role.MANAGER, "charyn")
    other = client.post(f"{P}/auth/token", data={"username": "other", "password": PASSWORD}).json()
    bearer = {
        "admin": world.admin,
        "manager": world.manager,
        "other_manager": {"Authorization": f"Bearer {other['access_token']}"},
        "ranger": world.ranger,
        "device": world.exit_device,  # east-in's token is re-issued by the walk itself
        "anonymous": {},
    }
    sessions = _sessions(world)
    permit = world.issue()["id"]
    card = client.post(
        f"{P}/cards", json={"uid": "0A1B2C3D4E", "holder": "R", "role": "ranger", "parks": [PARK]}, headers=world.admin
    )
    assert card.status_code == 201, card.text
    vehicle = client.post(
        f"{P}/vehicle-passes",
        json={"plate": "777AAA02", "holder": "V", "vehicle_class": "car", "parks": [PARK]},
        headers=world.admin,
    )
    assert vehicle.status_code == 201, vehicle.text
    zone = client.post(f"{P}/parks/{PARK}/zones", json={"slug": "canyon", "name": "Canyon"}, headers=world.admin)
    assert zone.status_code == 201, zone.text
    fill = {
        "park": PARK,
        "gate": "east-in",
        "permit_id": permit,
        "uid": card.json()["uid"],
        "plate": "777AAA02",
        "zone": "canyon",
    }
    window = {"from": 1_700_000_000, "to": 1_700_086_400}
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", f"{P}/parks"): {"json": {"slug": "new-park", "name": "New"}},
        ("POST", f"{P}/parks/{{park}}/gates"): {"json": {"slug": "west", "name": "West", "direction": "entry"}},
        ("POST", f"{P}/permits"): {
            "json": {"park": PARK, "valid_from": 1_700_000_000, "valid_until": 1_700_086_400, "party": [1, 0, 0]}
        },
        ("POST", f"{P}/cards"): {"json": {"uid": "0A1B2C3D4F", "holder": "S", "role": "staff", "parks": [PARK]}},
        ("PATCH", f"{P}/cards/{{uid}}"): {"json": {"holder": "Renamed"}},
        ("POST", f"{P}/vehicle-passes"): {
            "json": {"plate": "778AAA02", "holder": "W", "vehicle_class": "car", "parks": [PARK]}
        },
        ("PATCH", f"{P}/vehicle-passes/{{plate}}"): {"json": {"holder": "Renamed"}},
        ("GET", f"{P}/parks/{{park}}/stats"): {"params": window},
        ("GET", f"{P}/parks/{{park}}/export.csv"): {"params": window},
        ("GET", f"{P}/parks/{{park}}/export.csv-metadata.json"): {"params": window},
        ("PUT", f"{P}/parks/{{park}}/limits"): {"json": {"capacity": 100, "daily_quota": 1000}},
        ("PUT", f"{P}/parks/{{park}}/slots"): {"json": {"slots": [{"start": "09:00", "minutes": 60, "quota": 9}]}},
        ("POST", f"{P}/parks/{{park}}/zones"): {"json": {"slug": "lake", "name": "Lake"}},
        ("PUT", f"{P}/parks/{{park}}/zones/{{zone}}/limits"): {"json": {"capacity": 10, "daily_quota": 20}},
        ("PUT", f"{P}/parks/{{park}}/gates/{{gate}}/zone"): {"json": {"zone": "canyon"}},
        ("POST", f"{P}/gate/events"): {"json": {"events": []}},
        ("POST", "/dashboard/{park}/limits"): {"data": {"capacity": "100", "daily_quota": "1000"}},
        ("POST", "/permits"): {"data": {"park": PARK, "day": "2026-12-01", "adults": "1"}},
    }
    failures = []
    for (method, template), who in MATRIX.items():
        if who in ("public", "scrape") or template.startswith(f"{P}/public/") or template in ("/", "/login"):
            continue
        path = template.format(**fill)
        page = not template.startswith(P)
        for role in ROLES:
            kwargs: dict[str, Any] = {k: dict(v) for k, v in bodies.get((method, template), {}).items()}
            cookies: dict[str, str] = {}
            headers: dict[str, str] = {}
            if page:
                if role in sessions:
                    cookies = {SESSION_COOKIE: sessions[role][0]}
                    if method == "POST":
                        kwargs.setdefault("data", {})["csrf"] = sessions[role][1]
                else:
                    headers = bearer[role]
            else:
                headers = bearer[role]
            client.cookies.clear()
            for name, value in cookies.items():
                client.cookies.set(name, value)
            if template == "/logout" and role in sessions:
                continue  # would end the session the other rows use; tests/server/test_dashboard_pages.py covers it
            response = client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
            allowed = role in WHO[who]
            refused = response.status_code in (401, 403)
            if allowed == refused:
                failures.append((method, path, role, response.status_code, response.text[:120]))
    client.cookies.clear()
    assert not failures, "\n".join(map(str, failures))
