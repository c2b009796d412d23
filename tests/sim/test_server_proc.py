from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gate.ids import uuid7_text
from protocol import CredentialKind, Direction, EventBatch, EventBatchResult, GateEvent, Keyring, Reason, verify_token
from sim.errors import ServerProcessError
from sim.server_proc import ServerApi, ServerProcess, read_server_events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("server")) as process:
        yield process


@pytest.fixture
def api(server: ServerProcess) -> Iterator[ServerApi]:
    client = ServerApi(server.url)
    client.login(server.admin_user, server.admin_password)
    yield client
    client.close()


def test_a_real_server_issues_permits_that_verify_with_its_published_keys(
    server: ServerProcess, api: ServerApi
) -> None:
    api.create_park("altyn-emel", "Altyn-Emel", capacity=100, daily_quota=500)
    now = int(time.time())
    permit = api.issue_permit("altyn-emel", now - 60, now + 3600, (2, 1, 0), entries_per_day=1)
    verified = verify_token(permit.token, Keyring.from_jwks(api.keys()))
    assert verified.permit.id_text == permit.id
    assert verified.permit.party == (2, 1, 0)
    api.revoke(permit.id)
    assert api.occupancy("altyn-emel")["inside"] == 0


def test_events_a_gate_uploads_are_read_back_from_the_database(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        api = ServerApi(server.url)
        api.login(server.admin_user, server.admin_password)
        api.create_park("charyn", "Charyn")
        api.create_gate("charyn", "east", "East", "entry")
        device = api.device_token("charyn", "east")
        event = GateEvent(
            id=uuid7_text(),
            occurred_at=int(time.time() * 1000),
            direction=Direction.ENTRY,
            credential=CredentialKind.PERMIT,
            reason=Reason.EXPIRED,
            granted=False,
        )
        body = EventBatch(events=[event]).model_dump_json()
        headers = {"Authorization": f"Bearer {device}", "Content-Type": "application/json"}
        answer = httpx.post(f"{server.url}/api/v1/gate/events", content=body, headers=headers)
        assert EventBatchResult.model_validate_json(answer.content).new == [event.id]
        api.close()
    assert not server.running
    events = read_server_events(server.db_path)
    assert [(e.id, e.gate, e.reason, e.granted) for e in events] == [(event.id, "east", "expired", False)]


def test_api_errors_are_clear(api: ServerApi) -> None:
    with pytest.raises(ServerProcessError, match="404"):
        api.issue_permit("no-such-park", 0, 10, (1, 0, 0))
    anonymous = ServerApi(str(api.client.base_url))
    with pytest.raises(ServerProcessError, match="401"):
        anonymous.create_park("x", "X")
    anonymous.close()


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServerProcessError, match="no server database"):
        read_server_events(tmp_path / "missing.db")
