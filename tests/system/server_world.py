"""The real server app with an admin, a park and one entry gate with its device token, for system tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from server import Settings, create_app
from server.accounts import Role, add_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class ServerWorld:
    app: FastAPI
    client: TestClient
    admin: dict[str, str]  # the admin's Authorization header
    device_token: str  # of the park's entry gate


@contextmanager
def server_with_gate(data_dir: Path, park: dict[str, Any], gate: str) -> Iterator[ServerWorld]:
    """A server on a SQLite file in ``data_dir`` with the park (a ``POST /parks`` body) and entry gate ``gate``."""
    app = create_app(Settings.for_data_dir(data_dir))
    with TestClient(app) as client:
        with app.state.engine.begin() as conn:
            add_user(conn, "root", Role.ADMIN, PASSWORD)
        login = client.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert client.post("/api/v1/parks", json=park, headers=admin).status_code == 201
        slug = park["slug"]
        body = {"slug": gate, "name": gate, "direction": "entry"}
        assert client.post(f"/api/v1/parks/{slug}/gates", json=body, headers=admin).status_code == 201
        device = client.post(f"/api/v1/parks/{slug}/gates/{gate}/device", headers=admin).json()["device_token"]
        yield ServerWorld(app, client, admin, device)
    app.state.engine.dispose()
