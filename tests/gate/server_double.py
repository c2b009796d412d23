"""The documented gate API at the HTTP boundary, for SyncClient tests (httpx.MockTransport).

The real server is built elsewhere; the end-to-end test against it comes later.
"""

from __future__ import annotations

import json

import httpx

from protocol import EventBatch, EventBatchResult, ParkSettings, Permit, SigningKey, SyncPage
from tests.gate.world import PARK

DEVICE_TOKEN = "qd_test"


class GateApi:
    """Change feed of permits (change_seq = list position + 1) and an idempotent event store."""

    def __init__(self, key: SigningKey, page_size: int = 2) -> None:
        self.key = key
        self.page_size = page_size
        self.changes: list[tuple[Permit, bool]] = []
        self.events: dict[str, dict[str, object]] = {}
        self.down = False
        self.requests: list[httpx.Request] = []
        self.park = ParkSettings(slug=PARK, name="Altyn-Emel")

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("Authorization") != f"Bearer {DEVICE_TOKEN}":
            return httpx.Response(401, json={"detail": "device token required"})
        if request.method == "GET" and request.url.path == "/api/v1/gate/sync":
            return self.sync(int(request.url.params.get("cursor", "0")))
        if request.method == "POST" and request.url.path == "/api/v1/gate/events":
            return self.ingest(request.content)
        return httpx.Response(404)

    def sync(self, cursor: int) -> httpx.Response:
        rows = self.changes[cursor : cursor + self.page_size]
        last = cursor + len(rows)
        page = SyncPage(
            cursor=str(last),
            complete=last >= len(self.changes),
            park=self.park,
            keys=[self.key.public.to_jwk()],
            permits={
                "id": [p.id_text for p, _ in rows],
                "valid_from": [p.valid_from for p, _ in rows],
                "valid_until": [p.valid_until for p, _ in rows],
                "revoked": [r for _, r in rows],
            },
        )
        return httpx.Response(
            200, content=page.model_dump_json().encode(), headers={"Content-Type": "application/json"}
        )

    def ingest(self, body: bytes) -> httpx.Response:
        batch = EventBatch.model_validate_json(body)
        new, duplicates = [], []
        for event in batch.events:
            if event.id in self.events:
                duplicates.append(event.id)
            else:
                self.events[event.id] = json.loads(event.model_dump_json())
                new.append(event.id)
        return httpx.Response(200, json=EventBatchResult(new=new, duplicates=duplicates).model_dump())
