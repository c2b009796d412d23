"""Enrol a card: read it on a reader at the technician's bench, register it on the server."""

from __future__ import annotations

import queue
from typing import Any

import httpx

from gate.readers.base import CardRead, CardReader


class EnrollError(Exception):
    """A card that could not be read or registered; the message says why."""


def read_one_card(reader: CardReader, timeout_s: float) -> CardRead:
    reads: queue.Queue[CardRead] = queue.Queue()
    reader.start(reads.put)
    try:
        return reads.get(timeout=timeout_s)
    except queue.Empty:
        health = reader.health()
        hint = f" ({health.last_error})" if health.last_error else ""
        raise EnrollError(f"no card read on {reader.name} within {timeout_s:.0f} s{hint}") from None
    finally:
        reader.stop()


def register_card(
    server: str,
    user: str,
    password: str,
    uid: str,
    holder: str,
    role: str,
    parks: list[str],
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """Log in as ``user`` and ``POST /api/v1/cards``; returns the server's record of the card."""
    http = client or httpx.Client(base_url=server.rstrip("/"), timeout=15)
    try:
        login = http.post("/api/v1/auth/token", data={"username": user, "password": password})
        if login.status_code != 200:
            raise EnrollError(f"login as {user!r} refused: HTTP {login.status_code} {login.text[:200]}")
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {"uid": uid, "holder": holder, "role": role, "parks": parks}
        answer = http.post("/api/v1/cards", json=body, headers=headers)
        if answer.status_code != 201:
            raise EnrollError(f"server refused card {uid}: HTTP {answer.status_code} {answer.text[:300]}")
        card: dict[str, Any] = answer.json()
        return card
    except httpx.HTTPError as err:
        raise EnrollError(f"cannot reach {server}: {err}") from err
    finally:
        if client is None:
            http.close()
