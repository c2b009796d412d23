"""The sync loop: push the event outbox to the server, pull permits, keys and park settings from it.

It runs on its own thread with its own store connection, so the decision path never waits on the network
or on this module's locks. API (DESIGN.md): ``POST /api/v1/gate/events?schema=N`` (protocol.EventBatch →
EventBatchResult) and ``GET /api/v1/gate/sync?cursor=…`` (→ protocol.SyncPage, a page at a time until
``complete``), both with ``Authorization: Bearer <device token>``.

Nothing one record does stops the sync: an event the server refuses is set aside in the store with the
server's reason (kept and shown, never sent again), and the rest of the outbox goes on. A server that refuses
a whole batch instead (an older release, before events were refused one by one) gets it in halves until each
refused event stands alone. Pushing and pulling are independent: a failed upload does not keep the gate from
learning revocations, nor a failed download from handing over its events.
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
from protocol import EVENTS_SCHEMA, SYNC_SCHEMA, EventBatch, EventBatchResult, GateEvent, SyncPage

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/gate/events"
SYNC_PATH = "/api/v1/gate/sync"
GATE_STATUS_HEADER = "X-Gate-Status"  # {"outbox": N, "refused": N, "readers": {name: state}, "software": version}
# the members X-Gate-Status had before "refused": all that an older server takes (it refuses members it does not know)
FIRST_STATUS_MEMBERS = ("outbox", "readers", "software")
FIRST_CURSOR = "0"
BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0  # a gate whose link came back should not stay offline for long
MAX_PAGES_PER_CYCLE = 1000  # a feed that never says complete is a server bug; stop and try later
# a long outbox (days offline) goes up over several cycles, each with its pull, so revocations still arrive
MAX_BATCHES_PER_CYCLE = 20
REFUSED_WHOLE = (413, 422)  # a batch refused as a whole: too many events for the server, or one bad event in it


@dataclass(frozen=True)
class CycleResult:
    uploaded: int  # events the server accepted (new or already had)
    pages: int
    permits: int  # permit rows applied
    set_aside: int = 0  # events the server refused, now set aside
    more: bool = False  # events are still waiting: the next cycle should come at once


def backoff_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``failures`` failed cycles in a row: doubling from 1 s to 30 s, jittered ±25 %.

    The jitter keeps the gates of a park from retrying in step when the server comes back.
    """
    if failures <= 0:
        return 0.0
    base = min(BACKOFF_CAP_S, math.ldexp(BACKOFF_START_S, min(failures, 16) - 1))
    jitter: float = (rng or random).uniform(0.75, 1.25)
    return base * jitter


def _detail(response: httpx.Response) -> str:
    """The reason a server gave for refusing a request, as one line: its errors by field (FastAPI's ``detail``
    list, or ``errors`` beside a sentence), else its ``detail``, else the body's start."""
    try:
        body = response.json()
        detail = body["detail"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
    errors = detail if isinstance(detail, list) else body.get("errors")
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors:
            if isinstance(error, dict):
                where = ".".join(str(part) for part in error.get("loc", ()))
                parts.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
        return "; ".join(parts)[:500]
    return str(detail)[:500]


class SyncClient:
    """One sync cycle at a time against the server; ``online`` is whether the last cycle's pull succeeded."""

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
        # how much of it this server takes: everything, the first release's members, or nothing (see _fetch_page)
        self._status_level = 0

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def cycle(self) -> CycleResult:
        """Push (a part of) the outbox, then pull changes until complete, each whatever became of the other.

        Raises SyncError (and notes it) when either failed; ``online`` is whether the pull succeeded.
        """
        errors: list[str] = []
        uploaded = set_aside = pages = permits = 0
        more = False
        try:
            uploaded, set_aside, more = self._push(MAX_BATCHES_PER_CYCLE)
        except (SyncError, StoreError) as err:
            errors.append(f"upload: {err}")
        try:
            pages, permits = self.pull()
        except SyncError as err:
            errors.append(f"download: {err}")
            self.online = False
        else:
            self.online = True  # the lists are current: decisions are not "offline"
        if errors:
            self.failures += 1
            self.last_error = "; ".join(errors)
            self._note(False, self.last_error)
            raise SyncError(self.last_error)
        self.failures = 0
        self.last_error = None
        self._note(True, None)
        return CycleResult(uploaded, pages, permits, set_aside, more)

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
        refusable: bool = False,
    ) -> httpx.Response:
        """The server's 200 answer; with ``refusable`` a 413 or 422 too (the caller sends less); else SyncError."""
        headers = {**self._headers, **(extra_headers or {})}
        if json_body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._client.request(
                method, self._base + path, headers=headers, params=params, content=json_body
            )
        except httpx.HTTPError as err:
            raise SyncError(f"{method} {path}: {type(err).__name__}: {err}") from err
        if response.status_code != 200 and not (refusable and response.status_code in REFUSED_WHOLE):
            raise SyncError(f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}")
        if self.on_response is not None:
            self.on_response(response)  # the server's Date header is the gate's good time (gate.clock)
        return response

    def push(self) -> int:
        """Upload every pending event in batches; returns how many the server accepted. An event the server
        refuses is set aside with its reason (``GateStore.set_aside``) and the rest go on."""
        return self._push(None)[0]

    def _push(self, max_batches: int | None) -> tuple[int, int, bool]:
        """(accepted, set aside, more waiting) after at most ``max_batches`` batches (None: until empty)."""
        size = self.config.server.upload_batch
        accepted = set_aside = batches = 0
        while max_batches is None or batches < max_batches:
            events = self.store.pending_events(size)
            if not events:
                return accepted, set_aside, False
            up, aside = self._upload(events)
            accepted += up
            set_aside += aside
            batches += 1
        return accepted, set_aside, bool(self.store.pending_events(1))

    def _upload(self, events: list[GateEvent]) -> tuple[int, int]:
        """One batch: (accepted, set aside). A batch refused whole is sent again in halves."""
        body = EventBatch(events=events).model_dump_json().encode()
        params = {"schema": str(EVENTS_SCHEMA)}
        response = self._request("POST", EVENTS_PATH, params=params, json_body=body, refusable=True)
        if response.status_code in REFUSED_WHOLE:
            if len(events) == 1:
                reason = f"refused by the server (HTTP {response.status_code}): {_detail(response)}"
                log.warning("event %s set aside: %s", events[0].id, reason)
                return 0, self.store.set_aside([(events[0].id, reason)])
            half = len(events) // 2
            first, second = self._upload(events[:half]), self._upload(events[half:])
            return first[0] + second[0], first[1] + second[1]
        try:
            result = EventBatchResult.model_validate_json(response.content)
        except ValidationError as err:
            raise SyncError(f"server answered events with something else: {err}") from err
        sent = {event.id for event in events}
        answered = [event_id for event_id in (*result.new, *result.duplicates) if event_id in sent]
        refused: list[tuple[str, str]] = []
        for refusal in result.refused:
            event_id = refusal.id
            if event_id is None and 0 <= refusal.index < len(events):  # its id was unreadable: its place says
                event_id = events[refusal.index].id
            if event_id in sent:
                refused.append((event_id, f"refused by the server: {refusal.reason}"))
                log.warning("event %s set aside, the server refused it: %s", event_id, refusal.reason)
        if not answered and not refused:
            raise SyncError("server accepted none of the events it was sent")
        aside = self.store.set_aside(refused) if refused else 0
        return self.store.mark_uploaded(answered), aside

    def _gate_status(self) -> dict[str, Any] | None:
        if self.gate_status is None:
            return None
        try:
            return self.gate_status()
        except StoreError as err:  # the health report must never stop the sync that carries revocations
            log.warning("gate status not sent: %s", err)
            return None

    def _status_header(self, status: dict[str, Any] | None) -> dict[str, str]:
        """The header for ``status`` as much of it as this server takes (``_status_level``)."""
        if status is None or self._status_level >= 2:
            return {}
        if self._status_level == 1:
            status = {name: value for name, value in status.items() if name in FIRST_STATUS_MEMBERS}
        # ASCII JSON: an HTTP header carries no UTF-8 (a reader named in Kazakh is escaped, not an error)
        return {GATE_STATUS_HEADER: json.dumps(status, separators=(",", ":"))}

    def _fetch_page(self, cursor: str, status: dict[str, Any] | None) -> SyncPage:
        params = {"cursor": cursor, "schema": str(SYNC_SCHEMA)}
        while True:
            header = self._status_header(status)
            response = self._request("GET", SYNC_PATH, params=params, extra_headers=header, refusable=bool(header))
            if response.status_code == 200:
                break
            if response.status_code != 422 or GATE_STATUS_HEADER not in response.text:
                raise SyncError(f"GET {SYNC_PATH}: HTTP {response.status_code}: {response.text[:200]}")
            # the server does not take the status: an older server (a member it does not know) or a value it
            # refuses. The health report must never stop the sync that carries revocations: send less of it.
            self._status_level += 1
            log.warning("the server refused %s, sending less of it: %s", GATE_STATUS_HEADER, _detail(response))
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
        status = self._gate_status()  # once a cycle: it counts the outbox
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
                # the lists came down: only the upload failed, and it must not slow the pull that brings revocations
                delay = self._interval(started) if self.client.online else backoff_delay(self.client.failures)
                log.warning("sync failed (%d in a row), retry in %.1f s: %s", self.client.failures, delay, err)
            except Exception:
                # e.g. the store busy past its timeout: the loop must outlive it and try again later
                self.client.online = False
                self.client.failures += 1
                delay = backoff_delay(self.client.failures)
                log.exception("sync cycle failed unexpectedly, retry in %.1f s", delay)
            else:
                if result.uploaded or result.permits or result.set_aside:
                    log.info(
                        "sync: %d events up, %d set aside, %d permits down",
                        result.uploaded,
                        result.set_aside,
                        result.permits,
                    )
                delay = 0.0 if result.more else self._interval(started)
            self.cycles += 1
            self._wake.wait(delay)
            self._wake.clear()

    def _interval(self, started: float) -> float:
        return max(0.0, self.interval_s - (time.monotonic() - started))
