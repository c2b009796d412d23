"""Open-data export: CSV per day/hour by category and direction, with CSV-on-the-Web metadata."""

from __future__ import annotations

import csv
import io

from server.park_time import day_start
from server.parks import DEFAULT_TIMEZONE
from tests.server.conftest import PARK, World, event

DAY = 86400


def test_export_csv_and_its_csvw_metadata(world: World) -> None:
    day = day_start(1_760_000_000, DEFAULT_TIMEZONE)
    events = [
        event(1, occurred_at=(day + 3600) * 1000, people=3, category="adult"),
        event(2, occurred_at=(day + 3700) * 1000, people=2, category="adult"),
        event(3, occurred_at=(day + 7300) * 1000, people=1, category="child"),
        event(4, occurred_at=(day + 7400) * 1000, reason="revoked", granted=False, people=0, category="adult"),
    ]
    assert world.client.post("/api/v1/gate/events", json={"events": events}, headers=world.entry_device).is_success
    exit_event = event(5, occurred_at=(day + 8000) * 1000, direction="exit", people=2, category="adult")
    assert world.client.post("/api/v1/gate/events", json={"events": [exit_event]}, headers=world.exit_device).is_success
    params = {"from": day, "to": day + DAY, "period": "day"}
    response = world.client.get(f"/api/v1/parks/{PARK}/export.csv", params=params, headers=world.manager)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    start = "2025-10-08T19:00:00Z"
    assert [(r["period_start"], r["category"], r["direction"], r["people"], r["refused_events"]) for r in rows] == [
        (start, "adult", "entry", "5", "1"),
        (start, "adult", "exit", "2", "0"),
        (start, "child", "entry", "1", "0"),
    ]
    hourly = world.client.get(
        f"/api/v1/parks/{PARK}/export.csv", params={**params, "period": "hour"}, headers=world.admin
    )
    assert len(list(csv.DictReader(io.StringIO(hourly.text)))) == 4
    meta = world.client.get(f"/api/v1/parks/{PARK}/export.csv-metadata.json", params=params, headers=world.manager)
    assert meta.status_code == 200
    doc = meta.json()
    assert "http://www.w3.org/ns/csvw" in doc["@context"]
    assert doc["url"].endswith(f"/api/v1/parks/{PARK}/export.csv?from={day}&to={day + DAY}&period=day")
    assert "Altyn-Emel" in doc["dc:title"]
    assert [c["name"] for c in doc["tableSchema"]["columns"]] == list(rows[0].keys())


def test_export_refuses_rangers_and_bad_ranges(world: World) -> None:
    url = f"/api/v1/parks/{PARK}/export.csv"
    assert world.client.get(url, params={"from": 10, "to": 100}, headers=world.ranger).status_code == 403
    assert world.client.get(url, params={"from": 100, "to": 10}, headers=world.manager).status_code == 422
    too_long = {"from": 0, "to": 200 * DAY, "period": "hour"}
    assert world.client.get(url, params=too_long, headers=world.manager).status_code == 422
