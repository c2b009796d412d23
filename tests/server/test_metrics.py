"""``GET /metrics`` on the real app: who may read it, and what it counts (requests, ingest, sync pages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server import Settings, create_app
from tests.server.conftest import TestClient, World, event, sync


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert match, f"{sample} not in the metrics"
    return float(match.group(1))


def test_this_host_reads_the_counts_of_requests_ingest_and_sync(world: World) -> None:
    client = world.client
    events = [event(1), event(2)]
    assert client.post("/api/v1/gate/events", json={"events": events}, headers=world.entry_device).status_code == 200
    poisoned = {**event(3), "note": "a\x00b"}  # refused alone, counted as refused
    again = {"events": [*events, poisoned]}
    assert client.post("/api/v1/gate/events", json=again, headers=world.entry_device).status_code == 200
    sync(world)
    assert client.get("/api/v1/no/such/route/42").status_code == 404
    local = TestClient(client.app, client=("127.0.0.1", 40000))
    scraped = local.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert _value(text, 'qaqpa_server_events_ingested_total{result="new"}') == 2
    assert _value(text, 'qaqpa_server_events_ingested_total{result="duplicate"}') == 2
    assert _value(text, 'qaqpa_server_events_ingested_total{result="refused"}') == 1
    assert _value(text, "qaqpa_server_sync_pages_total") == 1
    assert _value(text, 'qaqpa_server_requests_total{method="POST",route="/api/v1/gate/events",status="200"}') == 2
    # an unknown path is counted under one label, never under its own
    assert _value(text, 'qaqpa_server_requests_total{method="GET",route="unmatched",status="404"}') == 1
    assert "/no/such/route" not in text
    client.get("/api/v1/permits/ABCDEFGHIJKLMNOP", headers=world.admin)
    text = local.get("/metrics").text
    assert 'route="/api/v1/permits/{permit_id}"' in text and "ABCDEFGHIJKLMNOP" not in text
    assert 'qaqpa_server_request_seconds_bucket{le="0.001",method="GET",route="/api/v1/gate/sync"}' in text


def test_others_are_refused_even_through_a_proxy_on_this_host(world: World) -> None:
    assert (
        world.client.get("/metrics").status_code == 401
    )  # no credential, and the test client's own address is not local
    assert world.client.get("/metrics", headers=world.admin).status_code == 403  # a user's token is not enough
    local = TestClient(world.client.app, client=("127.0.0.1", 40000))
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def test_a_bearer_of_the_metrics_token_reads_them_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QAQPA_METRICS_TOKEN", "s3cret-metrics-token")
    app = create_app(Settings.for_data_dir(tmp_path / "data"))
    try:
        remote = TestClient(app, client=("203.0.113.9", 40000))
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        answer = remote.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert answer.status_code == 200 and "qaqpa_server_requests_total" in answer.text
    finally:
        app.state.engine.dispose()
