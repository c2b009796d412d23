"""Hostile values at every door of the real app, on SQLite and PostgreSQL.

The walk takes every route of ``app.routes`` (API and pages) and what FastAPI knows each one reads: its path
and query parameters, headers, form fields and JSON body (field by field, nested ones too). Each request puts
one hostile value (``HOSTILE_TEXT`` where the value travels as text, ``HOSTILE_JSON`` in JSON) in one place,
with valid values everywhere else, so a value that passes its check reaches the code behind it. A place of a
kind (a type with its constraints) that had every value already gets only those its check let through, and a
sample: a type refuses a value the same way everywhere. The walk runs as the caller who gets furthest (an
admin, the gate's device, a visitor), and a few of the same requests as every other caller.

A request fails the walk when the answer is a 5xx; when it was refused (4xx) and a row changed in the database
anyway; when its caller may not call the route and got anything but 401/403 (who may is checked before what
was sent); when a text of thousands of characters was taken; or when the API answered an error without a
``detail`` sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.routing import Mount, Route

from protocol import EventBatch
from server import Settings, accounts, security
from server.ratelimit import RateLimit
from server.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, create_session, session_for
from tests.server.conftest import PARK, PASSWORD, TestClient, World, event
from tests.server.test_roles_matrix import MATRIX, WHO

pytestmark = pytest.mark.slow


class Raw(str):
    """Sent as written: JSON text that ``json`` cannot make (``1e400``), or a piece of a URL already escaped."""


HOSTILE_TEXT: tuple[str, ...] = (
    *("\x00", "a\x00b", "\x1b[2J", "\u202eevil", "x\u2066y", "\u2028", "\t\n"),
    *("x" * 50_000, "A" * 10_000, "", " "),  # a URL holds at most 64 KiB (httpx)
    *("²", "③", "٣", "１", "-1", str(2**63), "9" * 5000, "1e400", "NaN", "1_0", "1.5"),
    *("0001-01-01", "9999-12-31", "10000-01-01", "2024-02-30"),
    *("Asia", "../../etc/passwd", "<script>", "null", "[]"),
    *(Raw("%FF"), Raw("%ED%A0%80")),
)
# a path segment carries fewer kinds: every text kind, but numbers only as far as they are text
HOSTILE_PATH: tuple[str, ...] = (
    *("\x00", "a\x00b", "\x1b[2J", "\u202eevil", "\u2028", "x" * 50_000, "A" * 10_000, " "),
    *("²", "③", str(2**63), "-1", "9999-12-31", "Asia", "..", "<script>", "null"),
    *(Raw("%FF"), Raw("%ED%A0%80"), Raw("%2F")),
)
# parameters no route reads (``lang`` is read by hand, ``unknown`` by no one)
HOSTILE_EXTRA: tuple[str, ...] = ("\x00", "\u202e", "x" * 50_000, "²", Raw("%ED%A0%80"))
HOSTILE_JSON: tuple[object, ...] = (
    *("\x00", "a\x00b", "\u202eevil", "\ud800", "x" * 100_000, "A" * 10_000, "", "²", "③"),
    *("9999-12-31", "10000-01-01", "NaN"),
    *(-1, 2**63, -(2**63) - 1, 10**400, 0.5, True, None),
    *([], {}, {"a": [1, {"b": None}]}, [[[[[]]]]], ["x"] * 2000),
    *(float("nan"), float("inf"), Raw("1e400"), Raw("-1e400"), Raw("9" * 5000)),
)
# whole bodies: JSON that is not an object, and text that is not JSON at all
HOSTILE_BODIES: tuple[str, ...] = (
    *("NaN", "Infinity", "1e400", "[]", '"x"', "null", "{", '{"a":', "[" * 100_000, "\ufeff{}", "{}" * 3),
    *('{"a": 1, "a": 2}', "\x00", "\ud800"),
)
# what a gate's status header may carry
HOSTILE_HEADERS: tuple[str, ...] = (
    *('{"outbox": 1e400}', '{"outbox": NaN}', '{"outbox": -1}', '{"outbox": 9223372036854775808}'),
    *('{"readers": {"camera": "\\u0000"}}', '{"readers": {"\\u202e": "ok"}}', '{"software": "\\ud800"}'),
    *("[" * 10_000, "x" * 10_000, "null", "[]", "NaN", ""),
)
# the few a caller who may not call a route sends: it must be refused before any of them is looked at
SAMPLE_TEXT: tuple[str, ...] = ("\x00", str(2**63), "9999-12-31", "x" * 50_000)
SAMPLE_JSON: tuple[object, ...] = ("\x00", 2**63, float("nan"), Raw("1e400"))
SAMPLE_BODIES: tuple[str, ...] = ("{", "NaN", "[" * 100_000)

CALLERS = ("anonymous", "admin", "manager", "ranger", "device")
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
NOW = int(time.time())

# valid values by name, wherever a route reads them (path, query string, form); ``{...}`` from the world
VALID_TEXT: dict[str, str] = {
    "park": PARK,
    "gate": "spare",
    "zone": "canyon",
    "cursor": "0",
    "limit": "10",
    "schema": "1",
    "from": str(NOW - 86_400),
    "to": str(NOW),
    "bucket": "hour",
    "period": "day",
    "day": TOMORROW,
    "q": "abc",
    "next": "/dashboard",
    "path": "qaqpa.css",
    "username": "root",
    "password": PASSWORD,
    "grant_type": "password",
    "adults": "1",
    "children": "0",
    "exempt": "0",
    "capacity": "500",
    "daily_quota": "0",
}


def _bodies(world: Walk) -> dict[str, dict[str, Any]]:
    """A valid body of each JSON model; ``fresh`` keeps what must be unique from colliding with earlier ones."""
    n = world.fresh()
    return {
        "ParkCreate": {"slug": f"park-{n}", "name": "New park", "timezone": "Asia/Almaty"},
        "GateCreate": {"slug": f"gate-{n}", "name": "New gate", "direction": "entry"},
        "SlotPlanBody": {"slots": [], "early_minutes": 0},
        "ZoneCreate": {"slug": f"zone-{n}", "name": "New zone", "capacity": 10, "daily_quota": 100},
        "ZoneLimits": {"capacity": 10, "daily_quota": 100},
        "GateZone": {"zone": "canyon"},
        "PermitCreate": {
            "park": PARK,
            "valid_from": NOW,
            "valid_until": NOW + 3600,
            "party": [1, 0, 0],
            "plate": "777ABC02",
            "category": "car",
            "entries_per_day": 1,
        },
        "CardCreate": {"uid": f"0A{n:08X}", "holder": "Aigerim", "role": "ranger", "parks": [PARK]},
        "CardUpdate": {"holder": "Aigerim", "valid_from": NOW, "valid_until": NOW + 86_400},
        "VehiclePassCreate": {
            "plate": f"A{n:06d}",
            "plate_country": "XX",
            "holder": "Nurlan",
            "vehicle_class": "car",
            "parks": [PARK],
        },
        "VehiclePassUpdate": {"holder": "Nurlan", "valid_until": NOW + 86_400},
        "Limits": {"capacity": 500, "daily_quota": 0},
        "BookingBody": {
            "park": PARK,
            "day": TOMORROW,
            "party": {"adults": 1, "children": 1},
            "vehicle_class": "car",
            "plate": "123ABC02",
            "payment_reference": "KASPI-1",
        },
        "EventBatch": {"events": [event(n, permit_id=world.permit, category="standard", note="ok")]},
    }


@dataclass
class Door:
    """A route and what it reads."""

    method: str
    path: str
    who: str
    path_params: list[str] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)  # name: its type (``_kind``)
    headers: list[str] = field(default_factory=list)
    form: dict[str, str] = field(default_factory=dict)
    body: type[BaseModel] | None = None

    @property
    def page(self) -> bool:
        return not self.path.startswith("/api/")

    @property
    def primary(self) -> str:
        """The caller who gets furthest."""
        if self.who == "device":
            return "device"
        if self.who in ("public", "scrape"):
            return "anonymous"
        return "admin"


def _model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X | None``, ``list[X]``, ``Annotated[X, ...]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model(arg)
        if found is not None:
            return found
    return None


def _kind(info: FieldInfo) -> str:
    """A field's type with its constraints: fields of one kind are walked with every value once per route."""
    return repr((info.annotation, info.metadata))


def _names(fields: list[Any]) -> dict[str, str]:
    """The names a query string or form gives these parameters, with their kinds: a model's (``Annotated[M,
    Query()]``) are its fields'."""
    names = {}
    for param in fields:
        model = _model(param.field_info.annotation)
        if model is None:
            names[param.alias] = _kind(param.field_info)
        else:
            names |= {info.alias or name: _kind(info) for name, info in model.model_fields.items()}
    return names


def _collect(dependant: Any, door: Door) -> None:
    for sub in dependant.dependencies:
        _collect(sub, door)
    door.path_params += [p.alias for p in dependant.path_params if p.alias not in door.path_params]
    door.query |= _names(dependant.query_params)
    door.headers += [p.alias for p in dependant.header_params]
    for param in dependant.body_params:
        if isinstance(param.field_info, params.Form):
            door.form |= _names([param])
        else:
            door.body = _model(param.field_info.annotation)


def doors(app: FastAPI) -> list[Door]:
    """Every route of the app with what it reads; a route that reads its body itself names its model here."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):  # the static files
            found.append(Door("GET", route.path + "/{path}", "public", path_params=["path"]))
            continue
        if not isinstance(route, Route) or context.path is None:
            continue
        if not isinstance(route, APIRoute):  # the OpenAPI document and its pages
            found.append(Door("GET", context.path, "public"))
            continue
        for method in sorted(route.methods or ()):
            who = MATRIX.get((method, context.path), "public")
            door = Door(method, context.path, who)
            _collect(route.dependant, door)
            if context.path.endswith("/gate/events"):
                door.body = EventBatch
            found.append(door)
    return found


Place = tuple[str | int, ...]


def _leaves(model: type[BaseModel], valid: dict[str, Any]) -> list[tuple[Place, str]]:
    """Where a value can go in a body of ``model`` (each field, and inside nested models and lists), with the
    kind of each place."""
    places: list[tuple[Place, str]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        places.append(((key,), _kind(info)))
        inner, value = _model(info.annotation), valid.get(key)
        if inner is not None and isinstance(value, dict):
            places += [((key, *place), kind) for place, kind in _leaves(inner, value)]
        elif inner is not None and isinstance(value, list) and value and isinstance(value[0], dict):
            places += [((key, 0, *place), kind) for place, kind in _leaves(inner, value[0])]
        elif isinstance(value, list) and value:
            places.append(((key, 0), f"{_kind(info)}[0]"))
    return places


def _put(body: Any, place: Place, value: object) -> Any:
    if not place:
        return value
    copy: Any = list(body) if isinstance(body, list) else dict(body)
    head = place[0]
    copy[head] = _put(copy[head] if isinstance(copy, list) or head in copy else {}, place[1:], value)
    return copy


def json_text(value: object) -> str:
    """JSON of ``value`` with ``Raw`` parts as written; NaN and Infinity as Python writes them."""
    raws: list[str] = []

    def mark(item: object) -> object:
        if isinstance(item, Raw):
            raws.append(item)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(item, dict):
            return {key: mark(v) for key, v in item.items()}
        if isinstance(item, list | tuple):
            return [mark(v) for v in item]
        return item

    text = json.dumps(mark(value))
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw)
    return text


def _escaped(value: str) -> str:
    return value if isinstance(value, Raw) else quote(value, safe="", errors="surrogatepass")


@dataclass
class Walk:
    """The world the walk goes through, its callers, and what it found wrong."""

    world: World
    client: TestClient
    tables: list[str]
    permit: str = ""
    booked: str = ""
    card: str = ""
    plate: str = ""
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    counts: tuple[int, ...] = ()
    sent: int = 0
    answered: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    passed: dict[str, list[Any]] = field(default_factory=dict)  # by kind of place: the values its check let through
    _fresh: int = 0

    def fresh(self) -> int:
        self._fresh += 1
        return self._fresh

    @property
    def engine(self) -> sa.Engine:
        app: Any = self.world.client.app
        engine: sa.Engine = app.state.engine
        return engine

    def count_rows(self) -> tuple[int, ...]:
        query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in self.tables)
        with self.engine.connect() as conn:
            return tuple(conn.execute(sa.text(query)).one())

    def session(self, caller: str) -> tuple[str, str]:
        """A staff caller's page session cookie and CSRF token (a new one once the walk logged it out)."""
        if caller not in self.sessions:
            name = {"admin": "root", "manager": "manager", "ranger": "ranger"}[caller]
            with self.engine.begin() as conn:
                from server.accounts import authenticate

                user = authenticate(conn, name, PASSWORD)
                assert user is not None
                cookie = create_session(conn, user)
                found = session_for(conn, cookie)
                assert found is not None
            self.sessions[caller] = (cookie, found.csrf)
            self.counts = self.count_rows()
        return self.sessions[caller]

    def valid_text(self, door: Door, name: str) -> str | None:
        if name == "permit_id":
            public = door.path.startswith(("/api/v1/public/", "/permit/"))
            return self.booked if public else self.permit
        if name == "uid":
            return self.card
        if name == "plate" and door.path.startswith("/api/v1/vehicle-passes/"):
            return self.plate
        if name == "gate" and not door.path.endswith("/device"):
            return "east-in"
        return VALID_TEXT.get(name)

    def send(
        self,
        door: Door,
        caller: str,
        path: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        label: str = "",
        long: bool = False,
    ) -> int:
        """One request; its answer is checked, and the status returned. A ``long`` value (thousands of
        characters where the route reads text) must be refused: every text a request sets has a limit."""
        client = self.client
        values = {name: self.valid_text(door, name) or "x" for name in door.path_params} | (path or {})
        url = door.path
        for name, value in values.items():
            url = url.replace("{" + name + "}", _escaped(value))
        given = {name: v for name in door.query if (v := self.valid_text(door, name)) is not None} | (query or {})
        if given:
            url += "?" + "&".join(f"{quote(name)}={_escaped(value)}" for name, value in given.items())
        sent_headers = dict(headers or {})
        cookies: dict[str, str] = {}
        fields = {name: v for name in door.form if (v := self.valid_text(door, name)) is not None}
        if door.page and caller in ("admin", "manager", "ranger"):
            cookie, csrf = self.session(caller)
            cookies[SESSION_COOKIE] = cookie
            fields["csrf"] = csrf
        elif caller in ("admin", "manager", "ranger"):
            sent_headers.update(getattr(self.world, caller))
        elif caller == "device":
            sent_headers.update(self.world.entry_device)
        if door.path == "/login" and door.method == "POST":
            cookies[LOGIN_CSRF_COOKIE] = fields["csrf"] = "walk"
        content: str | None = None
        if door.form or (door.method == "POST" and door.page):
            fields |= form or {}
            content = "&".join(f"{quote(name)}={_escaped(value)}" for name, value in fields.items())
            sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif door.body is not None:
            content = body if body is not None else json_text(_bodies(self)[door.body.__name__])
            sent_headers["Content-Type"] = "application/json"
        if cookies:
            sent_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        client.cookies.clear()
        response = client.request(
            door.method,
            url,
            content=None if content is None else content.encode("utf-8", "surrogatepass"),
            headers=sent_headers,
            follow_redirects=False,
        )
        self.sent += 1
        status = response.status_code
        self.answered.setdefault((door.method, door.path), set()).add(status)
        where = f"{door.method} {door.path} as {caller} {label}: {status}"
        if status >= 500:
            self.failures.append(f"{where} {response.text[:200]!r}")
        if long and status < 400:
            self.failures.append(f"{where} took thousands of characters")
        error_json = 400 <= status < 500 and response.headers.get("content-type") == "application/json"
        if error_json and not door.page and not isinstance(response.json().get("detail"), str):
            self.failures.append(f"{where} without a detail sentence: {response.text[:200]!r}")
        counts = self.count_rows()
        if 400 <= status < 500 and counts != self.counts:
            changed = [t for t, a, b in zip(self.tables, self.counts, counts, strict=True) if a != b]
            self.failures.append(f"{where} refused, yet rows changed in {changed}")
        self.counts = counts
        if door.path == "/logout" and status == 303:
            self.sessions.pop(caller, None)
        return status


def _prepare(world: World, walker: TestClient) -> Walk:
    client, admin = world.client, world.admin
    with world.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        tables = sorted(sa.inspect(conn).get_table_names())
    walk = Walk(world, walker, [t for t in tables if t != "alembic_version"])
    gate = {"slug": "spare", "name": "Spare", "direction": "entry"}
    assert client.post(f"/api/v1/parks/{PARK}/gates", json=gate, headers=admin).status_code == 201
    zone = {"slug": "canyon", "name": "Canyon"}
    assert client.post(f"/api/v1/parks/{PARK}/zones", json=zone, headers=admin).status_code == 201
    walk.permit = world.issue()["id"]
    booking = {"park": PARK, "day": TOMORROW, "party": {"adults": 2}}
    booked = client.post("/api/v1/public/bookings", json=booking)
    assert booked.status_code == 201, booked.text
    walk.booked = booked.json()["id"]
    card = {"uid": "0A1B2C3D", "holder": "Ranger", "role": "ranger", "parks": [PARK]}
    assert client.post("/api/v1/cards", json=card, headers=admin).status_code == 201
    walk.card = "0A1B2C3D"
    vehicle = {"plate": "777AAA02", "holder": "Bus", "vehicle_class": "bus", "parks": [PARK]}
    assert client.post("/api/v1/vehicle-passes", json=vehicle, headers=admin).status_code == 201
    walk.plate = "777AAA02"
    walk.counts = walk.count_rows()
    return walk


def _long(value: object) -> bool:
    return isinstance(value, str) and len(value) >= 10_000


def _each(walk: Walk, kind: str, every: tuple[Any, ...], sample: tuple[Any, ...], send: Any) -> None:
    """``send`` every value to a place of ``kind``; where a place of that kind had them all already, only the
    values its check let through (a type refuses the same value the same way everywhere) and the sample."""
    if kind not in walk.passed:
        walk.passed[kind] = [value for value in every if send(value) != 422]
        return
    for value in {repr(value): value for value in (*walk.passed[kind], *sample)}.values():
        send(value)


def _walk_door(walk: Walk, door: Door) -> None:
    """Every hostile value in every place of ``door``, as its primary caller."""
    caller = door.primary
    model = "" if door.body is None else door.body.__name__

    def send(**given: Any) -> Any:
        def one(value: Any) -> int:
            place, name = next(iter(given.items()))
            label = f"{place} {name}={str(value)[:20]!r}"
            if place == "json":
                body = json_text(_put(_bodies(walk)[model], name, value))
                # a gate's batch refuses a bad event alone and answers 200 for the rest
                long = _long(value) and not door.path.endswith("/gate/events")
                return walk.send(door, caller, body=body, label=label, long=long)
            return walk.send(door, caller, **{place: {name: value}}, label=label, long=_long(value))

        return one

    walk.send(door, caller, label="(valid)")
    for name in door.path_params:
        for value in HOSTILE_PATH:
            send(path=name)(value)
    for name, kind in door.query.items():
        _each(walk, f"text {kind}", HOSTILE_TEXT, SAMPLE_TEXT, send(query=name))
    for name in ("lang", "unknown"):
        for value in HOSTILE_EXTRA:
            walk.send(door, caller, query={name: value}, label=f"query {name}={value[:20]!r}")
    for name in door.headers:
        for value in HOSTILE_HEADERS:
            walk.send(door, caller, headers={name: value}, label=f"header {name}={value[:20]!r}")
    for name, kind in door.form.items():
        _each(walk, f"text {kind}", HOSTILE_TEXT, SAMPLE_TEXT, send(form=name))
    for value in HOSTILE_EXTRA if door.form else ():
        walk.send(door, caller, form={"unknown": value}, label=f"form unknown={value[:20]!r}")
    if door.body is not None:
        valid = _bodies(walk)[door.body.__name__]
        for place, kind in [*_leaves(door.body, valid), (("unknown",), f"unknown in {door.body.__name__}")]:
            _each(walk, f"json {kind}", HOSTILE_JSON, SAMPLE_JSON, send(json=place))
        for text in HOSTILE_BODIES:
            walk.send(door, caller, body=text, label=f"body {text[:20]!r}")


def _walk_as_others(walk: Walk, door: Door) -> None:
    """A few hostile requests as every other caller; those the route refuses must be refused whatever they send."""
    allowed = WHO.get(door.who, set(CALLERS)) if door.who != "scrape" else set(CALLERS)
    for caller in CALLERS:
        if caller == door.primary:
            continue
        statuses = [walk.send(door, caller, label="(valid)")]
        for value in SAMPLE_TEXT:  # in a few places of each kind: the refusal comes before any is read
            for name in door.path_params[:3]:
                statuses.append(walk.send(door, caller, path={name: value}, label=f"path {name}"))
            for name in list(door.query)[:3]:
                statuses.append(walk.send(door, caller, query={name: value}, label=f"query {name}"))
            for name in list(door.form)[:3]:
                statuses.append(walk.send(door, caller, form={name: value}, label=f"form {name}"))
        if door.body is not None:
            for place, _ in _leaves(door.body, _bodies(walk)[door.body.__name__])[:3]:
                for item in SAMPLE_JSON:
                    body = json_text(_put(_bodies(walk)[door.body.__name__], place, item))
                    statuses.append(walk.send(door, caller, body=body, label=f"json {place}"))
            for text in SAMPLE_BODIES:
                statuses.append(walk.send(door, caller, body=text, label=f"body {text[:10]!r}"))
        if caller not in allowed and door.who != "scrape":
            wrong = sorted({s for s in statuses if s not in (401, 403)})
            if wrong:
                walk.failures.append(f"{door.method} {door.path} as {caller}: answered {wrong}, not 401/403")


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hashes a test can afford thousands of: the walk logs in with every hostile value beside a right password."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    accounts._absent_user_hash.cache_clear()
    yield
    accounts._absent_user_hash.cache_clear()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """No rate limit in the way: the walk sends thousands of requests from one address."""
    unlimited = RateLimit(per_minute=1e9, burst=10**9)
    return dataclasses.replace(
        Settings.for_data_dir(tmp_path / "data", db_url),
        public_rate=unlimited,
        login_rate_address=unlimited,
        login_rate_user=unlimited,
    )


@pytest.fixture
def walk(world: World) -> Iterator[Walk]:
    # a server error is an answer to record, not an exception to stop at
    with TestClient(world.client.app, raise_server_exceptions=False) as walker:
        yield _prepare(world, walker)


def test_every_door_refuses_hostile_values_without_a_server_error_or_a_stored_row(walk: Walk) -> None:
    app = walk.world.client.app
    assert isinstance(app, FastAPI)
    found = doors(app)
    assert len(found) >= 64, [f"{d.method} {d.path}" for d in found]
    for door in found:
        _walk_door(walk, door)
        _walk_as_others(walk, door)
    # server errors first, then rows stored, refusals that came too late, and errors without a sentence
    order = (": 5", "rows changed", "not 401/403", "thousands of characters", "without a detail")
    worst = sorted(walk.failures, key=lambda f: next((i for i, mark in enumerate(order) if mark in f), len(order)))
    assert not worst, f"{len(worst)} of {walk.sent} requests:\n" + "\n".join(worst[:80])
    # the walk reached the code behind every door: each answered something else than a refusal at least once
    unreached = [
        f"{method} {path}: {sorted(statuses)}"
        for (method, path), statuses in walk.answered.items()
        if path != "/metrics" and not any(status < 400 for status in statuses)  # scraped from this host only
    ]
    assert not unreached, "\n".join(unreached)
