"""Clock safety: forward and backward jumps, a 1970 boot, and recovery at the next sync (gate.clock).

The wall and monotonic clocks are plain settable time sources (what a Pi's RTC and CLOCK_MONOTONIC are to
the gate); the store, the controller and decide() are the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from gpiozero.pins.mock import MockFactory

from gate.clock import FLAG_CLOCK_SUSPECT, META_LAST_GOOD, PERSIST_EVERY_S, ClockReading, GateClock, server_date
from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.credentials import QrCredential
from gate.store import GateStore
from protocol import Direction, ParkSettings, Reason, SigningKey, encode_token
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, make_permit, sync_page

DAY = 86400


class Ticking:
    """A settable time source: ``now`` seconds, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_trusted_clock_passes_through_and_follows_small_corrections(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = GateClock(store, wall, mono)
    assert clock.read().at == NOW and not clock.read().suspect
    wall.now += 30.5  # NTP slewing a few seconds over time is no jump
    mono.now += 30
    reading = clock.read()
    assert reading.at == NOW + 30.5 and not reading.suspect


def test_a_forward_jump_is_replaced_by_the_monotonic_estimate(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = GateClock(store, wall, mono)
    wall.now += 3 * DAY  # the RTC jumps three days ahead
    mono.now += 10
    reading = clock.read()
    assert reading.suspect and reading.at == NOW + 10
    assert reading.problem is not None and "ahead" in reading.problem
    mono.now += 5
    assert clock.read().at == NOW + 15  # it keeps counting from the anchor, never from the jumped clock


def test_a_backward_jump_is_replaced_by_the_monotonic_estimate(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = GateClock(store, wall, mono)
    wall.now -= 2 * DAY
    mono.now += 60
    reading = clock.read()
    assert reading.suspect and reading.at == NOW + 60
    wall.now = NOW + 61  # the clock was put right: trusted again
    mono.now += 1
    assert clock.read() == ClockReading(NOW + 61, False)


def test_a_1970_boot_decides_from_the_last_known_good_time(tmp_path: Path) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        wall, mono = Ticking(NOW), Ticking(0.0)
        GateClock(store, wall, mono).note_server_time(NOW)  # saved before the power cut
        assert float(store.meta(META_LAST_GOOD) or 0) == NOW
    with GateStore(tmp_path / "gate.db") as store:
        wall, mono = Ticking(3.0), Ticking(7.0)  # no RTC: the Pi thinks it is 1970
        clock = GateClock(store, wall, mono)
        mono.now += 20
        reading = clock.read()
        assert reading.suspect and reading.at == NOW + 20 and "before 2024" in (reading.problem or "")
        assert not clock.state()["from_server"]


def test_a_clock_behind_the_last_known_good_time_is_suspect_at_start(tmp_path: Path) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        store.set_meta(META_LAST_GOOD, str(NOW))
        clock = GateClock(store, Ticking(NOW - 5 * DAY), Ticking(0.0))  # fake-hwclock's stale save
        reading = clock.read()
        assert reading.suspect and reading.at == NOW


def test_the_servers_date_recovers_the_time_and_is_saved(store: GateStore) -> None:
    wall, mono = Ticking(5.0), Ticking(0.0)
    clock = GateClock(store, wall, mono)
    assert clock.read().suspect
    good = NOW + 3 * DAY
    response = httpx.Response(200, headers={"Date": format_datetime(datetime.fromtimestamp(good, UTC), usegmt=True)})
    assert server_date(response) == good
    clock.note_response(response)
    mono.now += 4
    reading = clock.read()
    # the wall clock is still 1970 (no NTP), but the time is the server's: not suspect any more
    assert reading.at == good + 4 and not reading.suspect
    assert float(store.meta(META_LAST_GOOD) or 0) == good
    assert clock.state()["from_server"] and clock.state()["server_offset_s"] == good - 5.0


def test_a_bad_date_header_is_ignored(store: GateStore) -> None:
    assert server_date(httpx.Response(200, headers={"Date": "yesterday"})) is None
    assert server_date(httpx.Response(200)) is None


def test_tick_saves_the_good_time_now_and_then(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(0.0)
    clock = GateClock(store, wall, mono)
    clock.tick()
    assert store.meta(META_LAST_GOOD) is None  # not yet: it saves once a minute
    wall.now += PERSIST_EVERY_S
    mono.now += PERSIST_EVERY_S
    clock.tick()
    assert float(store.meta(META_LAST_GOOD) or 0) == NOW + PERSIST_EVERY_S
    wall.now -= DAY  # a suspect clock is never saved as good
    mono.now += PERSIST_EVERY_S
    clock.tick()
    assert float(store.meta(META_LAST_GOOD) or 0) == NOW + PERSIST_EVERY_S


def test_an_unguarded_clock_is_taken_as_it_is(store: GateStore) -> None:
    clock = GateClock(store, Ticking(5.0), Ticking(0.0), guard=False)
    assert clock.read().at == 5.0 and not clock.read().suspect


# -- the controller deciding through the guarded clock


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()


def _controller(tmp_path: Path, key: SigningKey, wall: Ticking, mono: Ticking, pins: MockFactory) -> GateController:
    config = GateConfig(
        gate=GateSettings(park=PARK, name="north-1", direction=Direction.ENTRY, data_dir=tmp_path),
        server=ServerSettings(url="http://server.test", device_token=DEVICE_TOKEN),
        relay=RelaySettings(pin=17, pulse_s=0.05),
    )
    with GateStore(config.gate.db_path) as store:
        store.apply_sync_page(sync_page("0", keys=[key], park=ParkSettings(slug=PARK, name="A")))
    clock_store = GateStore(config.gate.db_path)
    controller = GateController(
        config,
        pin_factory=pins,
        http_client=httpx.Client(transport=GateApi(key).transport()),
        clock=GateClock(clock_store, wall, mono),
    )
    return controller


def test_a_forward_jump_neither_ends_anti_passback_nor_starts_a_new_day(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    wall, mono = Ticking(NOW), Ticking(0.0)
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        token = encode_token(make_permit(entries_per_day=1, valid_until=NOW + 5 * DAY), key)
        first = controller.handle(QrCredential(token))
        assert first.granted and FLAG_CLOCK_SUSPECT not in controller.store.events()[-1].flags
        wall.now += DAY  # the clock jumps a day ahead: passback would have timed out, a new day begun
        mono.now += 30
        again = controller.handle(QrCredential(token))
        assert again.reason is Reason.ALREADY_INSIDE and again.at == NOW + 30
        event = controller.store.events()[-1]
        assert FLAG_CLOCK_SUSPECT in event.flags and event.occurred_at == (NOW + 30) * 1000
        assert controller.status()["clock"]["suspect"]
    finally:
        controller.close()


def test_a_backward_jump_does_not_bring_an_expired_permit_back(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    wall, mono = Ticking(NOW), Ticking(0.0)
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        expired = encode_token(make_permit(valid_from=NOW - 3 * DAY, valid_until=NOW - DAY), key)
        wall.now -= 2 * DAY  # back to when it was valid
        mono.now += 1
        decision = controller.handle(QrCredential(expired))
        assert decision.reason is Reason.EXPIRED
        assert FLAG_CLOCK_SUSPECT in controller.store.events()[-1].flags
    finally:
        controller.close()


def test_a_1970_boot_still_admits_on_the_estimate_and_flags_it(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        store.set_meta(META_LAST_GOOD, str(NOW))
    wall, mono = Ticking(12.0), Ticking(0.0)
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        mono.now += 60
        decision = controller.handle(QrCredential(encode_token(make_permit(), key)))
        assert decision.granted and decision.at == NOW + 60
        assert set(controller.store.events()[-1].flags) == {FLAG_CLOCK_SUSPECT, "offline", "unlisted"}
    finally:
        controller.close()
