"""The gate's side: sync pages (cursor, complete, revocations as changes, gzip) and idempotent event upload."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from protocol import EVENTS_SCHEMA, MAX_EVENTS_PER_BATCH, EventBatchResult, Keyring, SyncPage
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
        {"cursor": str(2**63)},  # past a BIGINT: PostgreSQL answered 500
        {"limit": "0"},
        {"limit": "200001"},
        {"limit": "x"},
    ):
        response = world.client.get("/api/v1/gate/sync", params=params, headers=world.entry_device)
        assert response.status_code == 422, params


def post_events(world: World, body: object, device: dict[str, str] | None = None) -> EventBatchResult:
    response = world.client.post(
        "/api/v1/gate/events", json=body, params={"schema": EVENTS_SCHEMA}, headers=device or world.entry_device
    )
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


def test_a_body_that_is_no_batch_is_refused_whole_and_changes_nothing(world: World) -> None:
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
    for bad in ({"events": []}, {"evnts": [good]}, [good], {"events": good}, {"events": [good], "more": 1}):
        response = world.client.post(url, content=orjson.dumps(bad), headers=headers)
        assert response.status_code == 422, bad
    assert world.count("events") == 0
    assert world.count("event_counts") == 0
    assert world.count("refused_events") == 0


def _refusals(result: EventBatchResult) -> dict[int, tuple[str | None, str]]:
    return {refused.index: (refused.id, refused.reason) for refused in result.refused}


def test_a_poison_event_is_refused_alone_and_the_rest_of_its_batch_is_stored(world: World) -> None:
    """Issue 17: a NUL in a manual open's note made PostgreSQL answer 500 for the whole batch, for good."""
    before, poison, after = event(), event(credential="manual", reason="manual", note="ambulance\x00"), event()
    result = post_events(world, {"events": [before, poison, after]})
    assert result.new == [before["id"], after["id"]] and result.duplicates == []
    (refused,) = result.refused
    assert (refused.id, refused.index) == (poison["id"], 1)
    assert refused.reason == "note: character U+0000 at position 9 is not allowed in text"
    assert world.count("events") == 2
    inside = world.client.get("/api/v1/parks/altyn/occupancy", headers=world.ranger).json()["inside"]
    assert inside == 6
    # sent again (the answer was lost): the good ones are duplicates, the poison is refused again, recorded once
    again = post_events(world, {"events": [before, poison, after]})
    assert again.duplicates == [before["id"], after["id"]] and [r.id for r in again.refused] == [poison["id"]]
    assert world.count("refused_events") == 1


def test_every_field_a_gate_sends_is_bounded(world: World) -> None:
    """Issue 17, finding 4: 100 KB categories were stored, flags repeated 10,000 times, refusals carried people."""
    good = event()
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "category": ({"category": "x" * 100_000}, "category: String should match pattern"),
        "category_case": ({"category": "Adult"}, "category: String should match pattern"),
        "flags": ({"flags": ["offline"] * 10_000}, "flags: List should have at most 3 items"),
        "repeated_flags": ({"flags": ["offline", "offline"]}, "flags repeat"),
        "refused_people": ({"reason": "revoked", "granted": False, "people": 4}, "a refused event counts no people"),
        "note": ({"credential": "manual", "reason": "manual", "note": "n" * 501}, "note: String should have at most"),
        "bidi": ({"credential": "manual", "reason": "manual", "note": "ok\u202e"}, "note: character U+202E"),
        "permit_id": ({"permit_id": "p" * 5000}, "permit_id: String should match pattern"),
        "card_uid": ({"credential": "card", "card_uid": "0a:1b"}, "card_uid: String should match pattern"),
        "plate": ({"credential": "plate", "plate": "123 ABC 02"}, "plate: String should match pattern"),
        "people": ({"people": 5000}, "people: Input should be less than or equal to 1000"),
        "granted": ({"granted": "yes"}, "granted: Input should be a valid boolean"),
        "occurred_at": ({"occurred_at": 2**70}, "occurred_at: Input should be less than"),
        # a member nobody asked for, named with a NUL: the reason names it escaped, so PostgreSQL stores it too
        "extra": ({"\x00evil" * 1000: 1}, "\\u0000evil\\u0000evil"),
    }
    bad = [event(**change) for change, _ in cases.values()]
    result = post_events(world, {"events": [good, *bad]})
    assert result.new == [good["id"]]
    refusals = _refusals(result)
    for index, (name, (_change, expected)) in enumerate(cases.items(), start=1):
        assert refusals[index][0] == bad[index - 1]["id"], name
        assert expected in refusals[index][1], (name, refusals[index][1])
        assert len(refusals[index][1]) <= 500
    assert world.count("events") == 1 and world.count("refused_events") == len(cases)
    app: Any = world.client.app
    with app.state.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT max(length(event)), max(length(reason)) FROM refused_events")).one()
    assert stored[0] <= 2000 and stored[1] <= 500  # a 100 KB category is kept as a short excerpt


def test_an_event_whose_id_is_unreadable_is_refused_by_its_place(world: World) -> None:
    good = event()
    result = post_events(world, {"events": [good, {**event(), "id": "nul\x00id"}, 42]})
    assert result.new == [good["id"]]
    assert [(r.id, r.index) for r in result.refused] == [(None, 1), (None, 2)]
    assert result.refused[1].reason.startswith("event: Input should be a valid dictionary")
    assert world.count("refused_events") == 2


def test_events_dated_before_any_gate_or_days_ahead_are_refused_and_not_counted(world: World) -> None:
    """Issue 17, finding 4: events dated years ahead or in 1970 were counted in "inside now"."""
    now_ms = int(time.time() * 1000)
    today = event(people=2)
    almost_a_day_ahead = event(occurred_at=now_ms + 23 * 3600 * 1000, people=1)  # a gate clock running fast
    in_1970 = event(occurred_at=0, people=40)
    in_2023 = event(occurred_at=1_700_000_000_000, people=40)
    years_ahead = event(occurred_at=now_ms + 3 * 365 * 86_400_000, people=50)
    result = post_events(world, {"events": [today, in_1970, almost_a_day_ahead, in_2023, years_ahead]})
    assert result.new == [today["id"], almost_a_day_ahead["id"]]
    refusals = _refusals(result)
    assert sorted(refusals) == [1, 3, 4]
    assert refusals[1][1].startswith("occurred_at: 1970-01-01 00:00:00 UTC is before 2024-01-01")
    assert "more than a day after the server's clock" in refusals[4][1]
    inside = world.client.get("/api/v1/parks/altyn/occupancy", headers=world.ranger).json()["inside"]
    assert inside == 3
    assert world.count("events") == 2


def test_a_gate_that_reads_no_refusals_gets_the_first_answer_and_stops_resending(world: World) -> None:
    """A gate of an earlier release reads EventBatchResult with extra="forbid": it gets no ``refused``, and the
    refused event's id among ``duplicates`` (the server keeps it set aside), so it marks it done and goes on."""

    class FirstResult(BaseModel):  # EventBatchResult as the first release reads it
        model_config = ConfigDict(extra="forbid")
        new: list[str]
        duplicates: list[str]

    good, poison = event(), event(category="x\x00")
    response = world.client.post("/api/v1/gate/events", json={"events": [good, poison]}, headers=world.entry_device)
    assert response.status_code == 200
    first = FirstResult.model_validate_json(response.content)
    assert (first.new, first.duplicates) == ([good["id"]], [poison["id"]])
    assert world.count("events") == 1 and world.count("refused_events") == 1


def test_refused_events_and_what_gates_set_aside_are_on_the_dashboard(world: World) -> None:
    poison = event(note="\x00")
    post_events(world, {"events": [event(), poison]})
    status = {"outbox": 0, "refused": 1, "readers": {"camera": "ok"}}
    headers = {**world.entry_device, "X-Gate-Status": json.dumps(status)}
    assert world.client.get("/api/v1/gate/sync", headers=headers).status_code == 200
    data = world.client.get("/api/v1/parks/altyn/dashboard", headers=world.manager).json()
    gates = {gate["slug"]: gate for gate in data["gates"]}
    assert gates["east-in"]["refused"] == 1 and gates["east-out"]["refused"] is None
    assert data["refused"]["count"] == 1
    (shown,) = data["refused"]["recent"]
    assert (shown["gate"], shown["event_id"]) == ("east-in", poison["id"])
    assert shown["reason"].startswith("note: character U+0000")
