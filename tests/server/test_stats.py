"""Occupancy and time series, counted from uploaded events in park-local buckets (Asia/Almaty, UTC+5)."""

from __future__ import annotations

import time
from typing import Any

from tests.server.conftest import World, event

# 2025-06-01 00:00 in the park (UTC+5) is 2025-05-31 19:00 UTC
DAY = 1_748_718_000


def at(seconds: int, **fields: Any) -> dict[str, Any]:
    return event(occurred_at=(DAY + seconds) * 1000, **fields)


def upload(world: World, device: dict[str, str], events: list[dict[str, Any]]) -> None:
    response = world.client.post("/api/v1/gate/events", json={"events": events}, headers=device)
    assert response.status_code == 200, response.text


def test_hourly_and_daily_series(world: World) -> None:
    upload(
        world,
        world.entry_device,
        [
            at(600, people=4),  # 00:10 local
            at(3600 + 5, people=2),  # 01:00
            at(3600 + 10, reason="expired", granted=False, people=0),
            at(3600 + 20, reason="expired", granted=False, people=0),
            at(3600 + 30, reason="revoked", granted=False, people=0),
            at(86400 + 60, people=5),  # next local day
        ],
    )
    upload(world, world.exit_device, [at(7200, direction="exit", people=3)])
    url = "/api/v1/parks/altyn/stats"
    hourly = world.client.get(url, params={"from": DAY, "to": DAY + 3 * 3600}, headers=world.ranger).json()
    assert (hourly["park"], hourly["bucket"], hourly["from"], hourly["to"]) == ("altyn", "hour", DAY, DAY + 10800)
    assert hourly["series"] == [
        {"start": DAY, "entries": 4, "exits": 0, "admitted": 1, "refused": {}},
        {"start": DAY + 3600, "entries": 2, "exits": 0, "admitted": 1, "refused": {"expired": 2, "revoked": 1}},
        {"start": DAY + 7200, "entries": 0, "exits": 3, "admitted": 1, "refused": {}},
    ]
    daily = world.client.get(
        url, params={"from": DAY + 100, "to": DAY + 2 * 86400, "bucket": "day"}, headers=world.manager
    ).json()
    assert [(p["start"], p["entries"], p["exits"], p["admitted"]) for p in daily["series"]] == [
        (DAY, 6, 3, 3),
        (DAY + 86400, 5, 0, 1),
    ]


def test_occupancy_counts_people_inside_and_today(world: World) -> None:
    now = int(time.time())
    upload(world, world.entry_device, [event(people=3), event(people=2), event(people=4, occurred_at=0)])
    upload(world, world.exit_device, [event(direction="exit", people=1)])
    body = world.client.get("/api/v1/parks/altyn/occupancy", headers=world.ranger).json()
    assert body["park"] == "altyn"
    assert body["inside"] == 3 + 2 - 1  # the entry dated 1970 (a gate clock that lost its time) is refused
    assert body["entries_today"] == 5  # the 1970 entry is not today
    assert (body["capacity"], body["daily_quota"]) == (500, 0)
    assert body["at"] >= now
    page = world.client.get("/api/v1/gate/sync", headers=world.entry_device).json()
    assert (page["park"]["occupancy"], page["park"]["entries_today"]) == (4, 5)


def test_inside_never_goes_below_zero(world: World) -> None:
    upload(world, world.exit_device, [event(direction="exit", people=7)])
    assert world.client.get("/api/v1/parks/altyn/occupancy", headers=world.admin).json()["inside"] == 0


def test_bad_stats_queries(world: World) -> None:
    url = "/api/v1/parks/altyn/stats"
    for params in (
        {"from": DAY},
        {"from": DAY, "to": DAY},
        {"from": "yesterday", "to": DAY},
        {"from": DAY, "to": DAY + 10, "bucket": "week"},
        {"from": 0, "to": DAY},  # far too many hourly buckets
    ):
        assert world.client.get(url, params=params, headers=world.admin).status_code == 422, params
    unknown = world.client.get("/api/v1/parks/nowhere/stats", params={"from": 0, "to": 10}, headers=world.admin)
    assert unknown.status_code == 404


def test_a_park_counts_its_days_in_its_own_zone(world: World) -> None:
    client, admin = world.client, world.admin
    park = {"slug": "volga", "name": "Volga", "timezone": "Europe/Moscow"}  # UTC+3: two hours behind Almaty
    assert client.post("/api/v1/parks", json=park, headers=admin).status_code == 201
    gate = {"slug": "in", "name": "In", "direction": "entry"}
    assert client.post("/api/v1/parks/volga/gates", json=gate, headers=admin).status_code == 201
    token = client.post("/api/v1/parks/volga/gates/in/device", headers=admin).json()["device_token"]
    moscow_day = DAY + 2 * 3600  # 2025-06-01 00:00 in Moscow
    # 01:00 in Almaty on 1 June is still 31 May in Moscow; 02:30 Almaty is 00:30 of 1 June in Moscow
    upload(world, {"Authorization": f"Bearer {token}"}, [at(3600, people=4), at(9000, people=2)])

    def days(start: int, end: int) -> list[tuple[int, int]]:
        params = {"from": start, "to": end, "bucket": "day"}
        series = client.get("/api/v1/parks/volga/stats", params=params, headers=admin).json()["series"]
        return [(point["start"], point["entries"]) for point in series]

    assert days(moscow_day, moscow_day + 86400) == [(moscow_day, 2)]
    assert days(moscow_day - 1, moscow_day + 1) == [(moscow_day - 86400, 4), (moscow_day, 2)]
