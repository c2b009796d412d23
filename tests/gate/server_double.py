"""The documented gate API at the HTTP boundary, for SyncClient tests (httpx.MockTransport).

The real server is built elsewhere; the end-to-end tests against it are in ``tests/system``. The double can
refuse events as today's server does (one by one, ``refuse``) or as a release before that did (the whole
batch answered 422, ``refuse_whole_batch``), refuse a gate status with members it does not know, and fail
either endpoint alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from protocol import EventBatch, EventBatchResult, GateEvent, ParkSettings, Permit, RefusedEvent, SigningKey, SyncPage
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
        # why the server refuses an event, or None to store it
        self.refuse: Callable[[GateEvent], str | None] = lambda event: None
        self.refuse_whole_batch = False  # as a release before per-event refusals: one bad event, 422 for all
        self.events_status: int | None = None  # answer POST /events with this status instead
        self.sync_status: int | None = None  # answer GET /sync with this status instead
        self.status_members: set[str] | None = None  # X-Gate-Status members this server takes (None: any)
        self.statuses: list[dict[str, object]] = []  # the X-Gate-Status headers it took
        self.result_extra: dict[str, object] = {}  # members a later server adds to its answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("Authorization") != f"Bearer {DEVICE_TOKEN}":
            return httpx.Response(401, json={"detail": "device token required"})
        if request.method == "GET" and request.url.path == "/api/v1/gate/sync":
            if self.sync_status is not None:
                return httpx.Response(self.sync_status, json={"detail": "the feed is broken"})
            status = request.headers.get("X-Gate-Status")
            if status is not None:
                members = json.loads(status)
                unknown = set(members) - self.status_members if self.status_members is not None else set()
                if unknown:
                    detail = f"X-Gate-Status must be a JSON object like {{}}: {sorted(unknown)}: extra inputs"
                    return httpx.Response(422, json={"detail": detail})
                self.statuses.append(members)
            return self.sync(int(request.url.params.get("cursor", "0")))
        if request.method == "POST" and request.url.path == "/api/v1/gate/events":
            if self.events_status is not None:
                return httpx.Response(self.events_status, json={"detail": "the database is unwell"})
            return self.ingest(request.content, int(request.url.params.get("schema", "1")))
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

    def ingest(self, body: bytes, schema: int) -> httpx.Response:
        batch = EventBatch.model_validate_json(body)
        refused = [
            RefusedEvent(id=event.id, index=index, reason=reason)
            for index, event in enumerate(batch.events)
            if (reason := self.refuse(event)) is not None
        ]
        if refused and self.refuse_whole_batch:
            errors = [{"loc": ["body", "events", r.index], "msg": r.reason, "type": "value_error"} for r in refused]
            return httpx.Response(422, json={"detail": errors})
        new, duplicates = [], []
        refused_ids = {r.id for r in refused}
        for event in batch.events:
            if event.id in refused_ids:
                continue
            if event.id in self.events:
                duplicates.append(event.id)
            else:
                self.events[event.id] = json.loads(event.model_dump_json())
                new.append(event.id)
        result = EventBatchResult(new=new, duplicates=duplicates, refused=refused).model_dump()
        if schema < 2:
            del result["refused"]
        return httpx.Response(200, json=result | self.result_extra)
