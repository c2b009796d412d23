"""Fixtures for server tests: the real app on a real SQLite file and on a real PostgreSQL database.

Every app-level test runs on both backends. PostgreSQL tests use one database per session (created here,
dropped at the end) and a fresh schema per test. Without a reachable PostgreSQL they skip, unless
QAQPA_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI

from protocol import SYNC_SCHEMA, SyncPage
from server import Settings, create_app
from server.accounts import Role, add_user

with warnings.catch_warnings():
    # starlette nags about its httpx-based client; it is still the documented way to test FastAPI
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient as TestClient

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PARK = "altyn"
PASSWORD = "correct horse battery staple"


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, as a psycopg DSN."""
    with fresh_pg_database("qaqpa_test") as dsn:
        yield dsn


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards, as a psycopg DSN; skips (fails in CI) without a server."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        if os.environ.get("QAQPA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (QAQPA_REQUIRE_POSTGRES=1) but unreachable: {err}")
        pytest.skip(f"PostgreSQL unreachable: {err}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    dsn: str = request.getfixturevalue("pg_database")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{_sqlalchemy_url(dsn)}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings.for_data_dir(tmp_path / "data", db_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def make_user(app: FastAPI, name: str, role: Role, park: str | None = None) -> None:
    with app.state.engine.begin() as conn:
        add_user(conn, name, role, PASSWORD, park)


def login(client: TestClient, name: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class World:
    """A park with an entry and an exit gate, their device tokens, and an admin, a manager and a ranger."""

    client: TestClient
    admin: dict[str, str]
    manager: dict[str, str]
    ranger: dict[str, str]
    entry_device: dict[str, str]
    exit_device: dict[str, str]

    def issue(self, **overrides: Any) -> dict[str, Any]:
        body = {"park": PARK, "valid_from": 1_700_000_000, "valid_until": 1_900_000_000, "party": [2, 1, 0]}
        response = self.client.post("/api/v1/permits", json={**body, **overrides}, headers=self.admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def count(self, table: str) -> int:
        import sqlalchemy as sa

        app: Any = self.client.app
        with app.state.engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture
def world(app: FastAPI, client: TestClient) -> World:
    make_user(app, "root", Role.ADMIN)
    admin = login(client, "root")
    response = client.post("/api/v1/parks", json={"slug": PARK, "name": "Altyn-Emel", "capacity": 500}, headers=admin)
    assert response.status_code == 201, response.text
    devices = []
    for slug, direction in (("east-in", "entry"), ("east-out", "exit")):
        body = {"slug": slug, "name": slug, "direction": direction}
        assert client.post(f"/api/v1/parks/{PARK}/gates", json=body, headers=admin).status_code == 201
        token = client.post(f"/api/v1/parks/{PARK}/gates/{slug}/device", headers=admin).json()["device_token"]
        devices.append({"Authorization": f"Bearer {token}"})
    make_user(app, "manager", Role.MANAGER, PARK)
    make_user(app, "ranger", Role.RANGER, PARK)
    return World(client, admin, login(client, "manager"), login(client, "ranger"), devices[0], devices[1])


def sync(world: World, cursor: str = "0", limit: int | None = None, device: dict[str, str] | None = None) -> SyncPage:
    """One page of the change feed, as the entry gate (or the gate of ``device``) of this release pulls it."""
    params = {"cursor": cursor, "schema": str(SYNC_SCHEMA)} | ({"limit": str(limit)} if limit else {})
    response = world.client.get("/api/v1/gate/sync", params=params, headers=device or world.entry_device)
    assert response.status_code == 200, response.text
    return SyncPage.model_validate_json(response.content)


def second_park(world: World) -> dict[str, str]:
    """Park "charyn" with one entry gate; returns that gate's device headers."""
    client, admin = world.client, world.admin
    assert client.post("/api/v1/parks", json={"slug": "charyn", "name": "Charyn"}, headers=admin).status_code == 201
    gate = {"slug": "north", "name": "North", "direction": "entry"}
    assert client.post("/api/v1/parks/charyn/gates", json=gate, headers=admin).status_code == 201
    token = client.post("/api/v1/parks/charyn/gates/north/device", headers=admin).json()["device_token"]
    return {"Authorization": f"Bearer {token}"}


def uuid7(n: int | None = None) -> str:
    """A UUIDv7 as gates make them (time-ordered); ``n`` makes it deterministic."""
    millis = int(time.time() * 1000) if n is None else 1_760_000_000_000 + n
    rand = secrets.randbits(74) if n is None else n
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def event(n: int | None = None, **overrides: Any) -> dict[str, Any]:
    """A granted entry of 3 people, as a gate reports it."""
    base: dict[str, Any] = {
        "id": uuid7(n),
        "occurred_at": int(time.time() * 1000),
        "direction": "entry",
        "credential": "permit",
        "reason": "granted",
        "granted": True,
        "people": 3,
    }
    return {**base, **overrides}
