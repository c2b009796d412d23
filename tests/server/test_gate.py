"""The gate's side: sync pages (cursor, complete, revocations as changes, gzip) and idempotent event upload."""

from __future__ import annotations

import gzip
import json

import orjson

from protocol import MAX_EVENTS_PER_BATCH, EventBatchResult, Keyring, SyncPage
from tests.server.conftest import World, event


def sync(world: World, cursor: str = "0", limit: int | None = None) -> SyncPage:
    params = {"cursor": cursor} | ({"limit": str(limit)} if limit else {})
    response = world.client.get("/api/v1/gate/sync", params=params, headers=world.entry_device)
    assert response.status_code == 200, response.text
    return SyncPage.model_validate_json(response.content)


def test_sync_pages_through_every_permit_then_completes(world: World) -> None:
    ids = [world.issue()["id"] for _ in range(5)]
    first = sync(world, limit=2)
    assert (first.permits.id, first.complete) == (ids[:2], False)
    assert first.park is not None and first.park.slug == "altyn" and first.park.capacity == 500
    assert first.keys is not None and len(Keyring.from_jwks({"keys": first.keys})) == 1
    second = sync(world, first.cursor, limit=2)
    third = sync(world, second.cursor, limit=2)
    assert second.permits.id + third.permits.id == ids[2:]
    assert (second.complete, third.complete) == (False, True)
    empty = sync(world, third.cursor)
    assert (len(empty.permits), empty.complete, empty.cursor) == (0, True, third.cursor)


def test_a_revocation_is_a_new_change(world: World) -> None:
    one, two = world.issue()["id"], world.issue()["id"]
    caught_up = sync(world)
    assert caught_up.permits.revoked == [False, False]
    world.client.post(f"/api/v1/permits/{one}/revoke", headers=world.ranger)
    delta = sync(world, caught_up.cursor)
    assert (delta.permits.id, delta.permits.revoked) == ([one], [True])
    fresh = sync(world)
    assert (fresh.permits.id, fresh.permits.revoked) == ([two, one], [False, True])


def test_sync_only_sends_the_gates_own_park(world: World) -> None:
    world.client.post("/api/v1/parks", json={"slug": "charyn", "name": "Charyn"}, headers=world.admin)
    world.issue(park="charyn")
    mine = world.issue()["id"]
    assert sync(world).permits.id == [mine]


def test_sync_is_gzipped_when_asked(world: World) -> None:
    for _ in range(30):
        world.issue()
    headers = {**world.entry_device, "Accept-Encoding": "gzip"}
    response = world.client.get("/api/v1/gate/sync", headers=headers)
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["permits"]["id"]) == 30  # the client inflated it
    raw = world.client.get("/api/v1/gate/sync", headers={**world.entry_device, "Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert json.loads(raw.content) == response.json()
    assert len(gzip.compress(raw.content)) < len(raw.content)


def test_bad_sync_parameters(world: World) -> None:
    for params in (
        {"cursor": "abc"},
        {"cursor": "-1"},
        {"cursor": "²"},
        {"limit": "0"},
        {"limit": "200001"},
        {"limit": "x"},
    ):
        response = world.client.get("/api/v1/gate/sync", params=params, headers=world.entry_device)
        assert response.status_code == 422, params


def post_events(world: World, body: object) -> EventBatchResult:
    response = world.client.post("/api/v1/gate/events", json=body, headers=world.entry_device)
    assert response.status_code == 200, response.text
    return EventBatchResult.model_validate_json(response.content)


def test_the_same_batch_twice_is_stored_once(world: World) -> None:
    batch = {"events": [event(), event(), event(reason="expired", granted=False, people=0)]}
    ids = [e["id"] for e in batch["events"]]
    assert post_events(world, batch) == EventBatchResult(new=ids, duplicates=[])
    assert post_events(world, batch) == EventBatchResult(new=[], duplicates=ids)
    extra = event()
    mixed = post_events(world, {"events": [*batch["events"][:1], extra]})
    assert mixed == EventBatchResult(new=[extra["id"]], duplicates=ids[:1])
    assert world.count("events") == 4
    occupancy = world.client.get("/api/v1/parks/altyn/occupancy", headers=world.ranger).json()
    assert occupancy["inside"] == 9  # three granted entries of 3 people, each counted once


def test_a_repeated_id_inside_one_batch_counts_once(world: World) -> None:
    one = event()
    assert post_events(world, {"events": [one, one]}) == EventBatchResult(new=[one["id"]], duplicates=[])
    assert world.count("events") == 1


def test_bad_event_batches_are_refused_and_change_nothing(world: World) -> None:
    url, headers = "/api/v1/gate/events", world.entry_device
    too_many = {"events": [event() for _ in range(MAX_EVENTS_PER_BATCH + 1)]}
    response = world.client.post(url, json=too_many, headers=headers)
    assert response.status_code == 413
    assert "at most 1000 events" in response.json()["detail"]

    huge = b'{"events": [' + b" " * (3 * 1024 * 1024) + b"]}"
    response = world.client.post(url, content=huge, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]

    response = world.client.post(url, content=b'{"events": [', headers=headers)
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]

    good = event()
    bad: object
    for bad in (
        {"events": []},
        {"events": [{**good, "people": "three"}]},
        {"events": [{**good, "id": "not-a-uuid"}]},
        {"events": [{**good, "granted": False}]},  # contradicts reason "granted"
        {"events": [{**good, "reason": "bribed"}]},
        {"events": [good, {**event(), "direction": "up"}]},  # one bad event refuses the whole batch
        {"evnts": [good]},
        [good],
    ):
        response = world.client.post(url, content=orjson.dumps(bad), headers=headers)
        assert response.status_code == 422, bad
        assert isinstance(response.json()["detail"], list) and response.json()["detail"][0]["msg"]
    assert world.count("events") == 0
    assert world.count("event_counts") == 0
