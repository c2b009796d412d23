"""The sync loop: push the event outbox to the server, pull permits, keys and park settings from it.

It runs on its own thread with its own store connection, so the decision path never waits on the network
or on this module's locks. API (DESIGN.md): ``POST /api/v1/gate/events`` (protocol.EventBatch →
EventBatchResult) and ``GET /api/v1/gate/sync?cursor=…`` (→ protocol.SyncPage, a page at a time until
``complete``), both with ``Authorization: Bearer <device token>``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from pydantic import ValidationError

from gate.config import GateConfig
from gate.errors import StoreError, SyncError
from gate.store import GateStore
from protocol import SYNC_SCHEMA, EventBatch, EventBatchResult, SyncPage

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/gate/events"
SYNC_PATH = "/api/v1/gate/sync"
GATE_STATUS_HEADER = "X-Gate-Status"  # {"outbox": N, "readers": {name: state}, "software": version}
FIRST_CURSOR = "0"
BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0  # a gate whose link came back should not stay offline for long
MAX_PAGES_PER_CYCLE = 1000  # a feed that never says complete is a server bug; stop and try later


@dataclass(frozen=True)
class CycleResult:
    uploaded: int  # events the server accepted (new or already had)
    pages: int
    permits: int  # permit rows applied


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``failures`` failed cycles in a row: doubling from 1 s to 30 s, jittered ±25 %.

    The jitter keeps the gates of a park from retrying in step when the server comes back.
    """
    if failures <= 0:
        return 0.0
    base = min(BACKOFF_CAP_S, math.ldexp(BACKOFF_START_S, min(failures, 16) - 1))
    jitter: float = (rng or random).uniform(0.75, 1.25)
    return base * jitter


class SyncClient:
    """One sync cycle at a time against the server; ``online`` is whether the last cycle succeeded."""

    def __init__(
        self,
        config: GateConfig,
        store: GateStore,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self._base = config.server.url.rstrip("/")
        self._own_client = client is None
        self._client = client or httpx.Client(transport=transport, timeout=httpx.Timeout(30.0, connect=5.0))
        self._headers = {
            "Authorization": f"Bearer {config.server.device_token}",
            "Accept-Encoding": "gzip",
        }
        self.online = False
        self.failures = 0  # failed cycles in a row
        self.last_error: str | None = None
        self.on_response: Callable[[httpx.Response], None] | None = None  # e.g. GateClock.note_response
        # what the gate says of itself on every sync (outbox depth, readers): the managers' gate health
        self.gate_status: Callable[[], dict[str, Any]] | None = None

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def cycle(self) -> CycleResult:
        """Push the outbox, then pull changes until complete; raises SyncError (and notes it) on failure."""
        try:
            uploaded = self.push()
            pages, permits = self.pull()
        except SyncError as err:
            self.online = False
            self.failures += 1
            self.last_error = str(err)
            self._note(False, str(err))
            raise
        self.online = True
        self.failures = 0
        self.last_error = None
        self._note(True, None)
        return CycleResult(uploaded, pages, permits)

    def _note(self, ok: bool, error: str | None) -> None:
        try:
            self.store.note_sync(ok, error)
        except StoreError as err:
            raise SyncError(f"cannot record sync state: {err}") from err

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {**self._headers, **(extra_headers or {})}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._client.request(
                method, self._base + path, headers=headers, params=params, content=json_body
            )
        except httpx.HTTPError as err:
            raise SyncError(f"{method} {path}: {type(err).__name__}: {err}") from err
        if response.status_code != 200:
            raise SyncError(f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}")
        if self.on_response is not None:
            self.on_response(response)  # the server's Date header is the gate's good time (gate.clock)
        return response

    def push(self) -> int:
        """Upload pending events in batches; returns how many the server accepted."""
        batch = self.config.server.upload_batch
        accepted = 0
        while True:
            events = self.store.pending_events(batch)
            if not events:
                return accepted
            body = EventBatch(events=events).model_dump_json()
            response = self._request("POST", EVENTS_PATH, json_body=body.encode())
            try:
                result = EventBatchResult.model_validate_json(response.content)
            except ValidationError as err:
                raise SyncError(f"server answered events with something else: {err}") from err
            sent = {event.id for event in events}
            answered = [event_id for event_id in (*result.new, *result.duplicates) if event_id in sent]
            if not answered:
                raise SyncError("server accepted none of the events it was sent")
            accepted += self.store.mark_uploaded(answered)

    def _status_header(self) -> dict[str, str]:
        if self.gate_status is None:
            return {}
        try:
            status = self.gate_status()
        except StoreError as err:  # the health report must never stop the sync that carries revocations
            log.warning("gate status not sent: %s", err)
            return {}
        # ASCII JSON: an HTTP header carries no UTF-8 (a reader named in Kazakh is escaped, not an error)
        return {GATE_STATUS_HEADER: json.dumps(status, separators=(",", ":"))}

    def _fetch_page(self, cursor: str, status: dict[str, str]) -> SyncPage:
        params = {"cursor": cursor, "schema": str(SYNC_SCHEMA)}
        response = self._request("GET", SYNC_PATH, params=params, extra_headers=status)
        try:
            return SyncPage.model_validate(orjson.loads(response.content))
        except (orjson.JSONDecodeError, ValidationError) as err:
            raise SyncError(f"sync page is not a SyncPage: {err}") from err

    def pull(self) -> tuple[int, int]:
        """Fetch and apply pages after the stored cursor until one says complete; returns (pages, permits).

        The next page is fetched while the current one is written: a fresh gate's full sync then takes as
        long as the slower of the server and the SQLite writes, not their sum.
        """
        cursor = self.store.sync_state().cursor or FIRST_CURSOR
        pages = permits = 0
        status = self._status_header()  # once a cycle: it counts the outbox
        with ThreadPoolExecutor(1, thread_name_prefix="gate-sync-fetch") as prefetch:
            upcoming = prefetch.submit(self._fetch_page, cursor, status)
            while pages < MAX_PAGES_PER_CYCLE:
                page = upcoming.result()
                if not page.complete:
                    if page.cursor == cursor:
                        raise SyncError(f"sync feed made no progress at cursor {cursor!r}")
                    cursor = page.cursor
                    upcoming = prefetch.submit(self._fetch_page, cursor, status)
                try:
                    self.store.apply_sync_page(page)
                except StoreError as err:
                    raise SyncError(f"cannot apply sync page: {err}") from err
                pages += 1
                permits += len(page.permits)
                if page.complete:
                    return pages, permits
        raise SyncError(f"sync feed not complete after {MAX_PAGES_PER_CYCLE} pages")


class SyncLoop:
    """Runs sync cycles on a daemon thread every ``sync_interval_s``, backing off after failures."""

    def __init__(self, client: SyncClient, interval_s: float) -> None:
        self.client = client
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0

    @property
    def online(self) -> bool:
        return self.client.online

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="gate-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next cycle now (e.g. new events to push)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                result = self.client.cycle()
            except SyncError as err:
                delay = backoff_delay(self.client.failures)
                log.warning("sync failed (%d in a row), retry in %.1f s: %s", self.client.failures, delay, err)
            except Exception:
                # e.g. the store busy past its timeout: the loop must outlive it and try again later
                self.client.online = False
                self.client.failures += 1
                delay = backoff_delay(self.client.failures)
                log.exception("sync cycle failed unexpectedly, retry in %.1f s", delay)
            else:
                if result.uploaded or result.permits:
                    log.info("sync: %d events up, %d permits down", result.uploaded, result.permits)
                delay = max(0.0, self.interval_s - (time.monotonic() - started))
            self.cycles += 1
            self._wake.wait(delay)
            self._wake.clear()
