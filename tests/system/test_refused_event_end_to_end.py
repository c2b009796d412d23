"""Issue 17 end to end: a gate with a poison event in its outbox keeps syncing against a real server on
PostgreSQL (``qaqpa-server serve`` in its own process on a fresh database), through its real SyncClient,
SyncLoop and SQLite store.

Before the fix the server answered 500 for a batch holding one bad event, and the gate, which uploaded before it
downloaded, never synced again: a permit revoked on the server was still admitted minutes later.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from firmware_tools.check import check_outbox
from gate.config import GateConfig, GateSettings, ServerSettings
from gate.credentials import ManualCredential, QrCredential
from gate.decision import Policy, decide
from gate.events import make_event
from gate.store import GateStore
from gate.sync import SyncClient, SyncLoop
from protocol import EVENTS_SCHEMA, Direction, Reason, permit_id_bytes
from sim.server_proc import ServerApi, ServerProcess
from tests.server.conftest import event, fresh_pg_database

PARK = "aksu"
GATE = "main-in"


class PostgresServer(ServerProcess):
    """``qaqpa-server serve`` on a PostgreSQL database instead of a SQLite file."""

    def __init__(self, data_dir: Path, url: str) -> None:
        super().__init__(data_dir)
        self._url = url

    @property
    def db_url(self) -> str:
        return self._url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database("qaqpa_e2e") as dsn:
        yield dsn


def _wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(0.05)


def test_a_gate_with_a_refused_event_keeps_syncing(tmp_path: Path, pg_url: str) -> None:
    dsn = pg_url
    with PostgresServer(tmp_path / "server", dsn.replace("postgresql://", "postgresql+psycopg://", 1)) as server:
        api = ServerApi(server.url)
        api.login(server.admin_user, server.admin_password)
        api.create_park(PARK, "Aksu-Zhabagly")
        api.create_gate(PARK, GATE, "Main entrance", "entry")
        device = api.device_token(PARK, GATE)
        now = int(time.time())
        family = api.issue_permit(PARK, now - 3600, now + 86_400, (2, 1, 0))

        # the real server on PostgreSQL refuses a NUL alone, where it answered 500 for the whole batch
        good = event()
        answer = httpx.post(
            f"{server.url}/api/v1/gate/events",
            params={"schema": EVENTS_SCHEMA},
            json={"events": [good, event(credential="manual", reason="manual", note="ambulance\x00")]},
            headers={"Authorization": f"Bearer {device}"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["new"] == [good["id"]]
        assert answer.json()["refused"][0]["reason"].startswith("note: character U+0000")

        config = GateConfig(
            gate=GateSettings(park=PARK, name=GATE, direction=Direction.ENTRY, data_dir=tmp_path / "gate"),
            server=ServerSettings(url=server.url, device_token=device, sync_interval_s=0.2),
        )
        store = GateStore(config.gate.db_path)
        client = SyncClient(config, store)
        client.gate_status = lambda: {"outbox": store.outbox_depth(), "refused": store.set_aside_count()}
        loop = SyncLoop(client, config.server.sync_interval_s)
        view = store.view(Policy(PARK, Direction.ENTRY, clock_skew_s=300, passback_timeout_s=43_200))
        try:
            client.cycle()  # the gate learns the permit and the keys
            view.refresh()

            def record(credential: Any, at: float) -> str:
                decision = decide(credential, view, at)
                made = make_event(decision)
                store.record(decision, made)
                return made.id

            admitted = record(QrCredential(family.token), time.time())
            # the poison: a decision taken while the Pi's clock had lost its time (1970), which the server refuses
            in_1970 = record(ManualCredential("barrier test after a power cut"), 5.0)
            # and a manual open an older release stored with a NUL in its note, which no server takes
            older = record(ManualCredential("ambulance"), time.time())
            store.conn.execute("UPDATE events SET note = ? WHERE id = ?", ("ambulance\x00", older))
            after = record(ManualCredential("paper permit checked"), time.time())

            api.revoke(family.id)
            loop.start()
            _wait_for(
                lambda: (listed := store.lookup(permit_id_bytes(family.id))) is not None and listed.revoked,
                30,
                "revoked",
            )
            _wait_for(lambda: store.outbox_depth() == 0 and loop.online, 30, "outbox empty, online")

            view.refresh()
            assert decide(QrCredential(family.token), view, time.time()).reason is Reason.REVOKED
            aside = {entry.id: entry.reason for entry in store.set_aside_events()}
            assert aside[in_1970].startswith("refused by the server: occurred_at: 1970-01-01 00:00:05 UTC is before")
            assert aside[older].startswith("not a valid event, so never sent: note: character U+0000")
            assert len(aside) == 2 and store.summary()["set_aside"] == 2
            assert check_outbox(config).status == "warn"
            assert client.failures == 0 and client.last_error is None
            cycles = loop.cycles
            _wait_for(lambda: loop.cycles >= cycles + 2, 30, "two more cycles")  # syncing on, nothing resent
            assert loop.online and client.failures == 0
        finally:
            loop.stop()
            client.close()
            store.close()

        with psycopg.connect(dsn) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM events")}
            refused: dict[str | None, str] = dict(
                conn.execute("SELECT event_id, reason FROM refused_events").fetchall()
            )
        assert {admitted, after, good["id"]} <= stored and not {in_1970, older} & stored
        assert set(refused) == {in_1970, answer.json()["refused"][0]["id"]}
        login = httpx.post(
            f"{server.url}/api/v1/auth/token",
            data={"username": server.admin_user, "password": server.admin_password},
        ).json()
        dashboard = httpx.get(
            f"{server.url}/api/v1/parks/{PARK}/dashboard",
            headers={"Authorization": f"Bearer {login['access_token']}"},
        ).json()
        (health,) = dashboard["gates"]
        assert health["refused"] == 2 and health["outbox"] == 0  # what the gate set aside, as it reported it
        assert dashboard["refused"]["count"] == 2
        api.close()
