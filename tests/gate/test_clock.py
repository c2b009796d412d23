"""Clock safety: forward and backward jumps, a boot with a clock that cannot be right (1970, before the
release, behind what the store saw, years ahead), and recovery at the next sync (gate.clock).

The wall and monotonic clocks are plain settable time sources (what a Pi's RTC and CLOCK_MONOTONIC are to
the gate); the store, the controller and decide() are the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from gpiozero.pins.mock import MockFactory

from gate.clock import (
    FLAG_CLOCK_SUSPECT,
    META_LAST_GOOD,
    PERSIST_EVERY_S,
    RELEASED_AT,
    ClockReading,
    GateClock,
    KnownTimes,
    known_times,
    server_date,
)
from gate.config import GateConfig, GateSettings, RelaySettings, ServerSettings
from gate.controller import GateController
from gate.credentials import QrCredential
from gate.store import GateStore
from protocol import Direction, ParkSettings, Reason, SigningKey, encode_token
from tests.gate.server_double import DEVICE_TOKEN, GateApi
from tests.gate.world import NOW, PARK, make_permit, sync_page

DAY = 86400
RELEASE = NOW - 30 * DAY  # this software's release, as far as these tests' clocks are concerned


class Ticking:
    """A settable time source: ``now`` seconds, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def guarded(store: GateStore | None, wall: Ticking, mono: Ticking, **options: Any) -> GateClock:
    """The gate's guarded clock on the test's time sources, released a month before ``NOW``."""
    return GateClock(store, wall, mono, released_at=RELEASE, **options)


def test_a_trusted_clock_passes_through_and_follows_small_corrections(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = guarded(store, wall, mono)
    assert clock.read().at == NOW and not clock.read().suspect
    wall.now += 30.5  # NTP slewing a few seconds over time is no jump
    mono.now += 30
    reading = clock.read()
    assert reading.at == NOW + 30.5 and not reading.suspect


def test_a_forward_jump_is_replaced_by_the_monotonic_estimate(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = guarded(store, wall, mono)
    wall.now += 3 * DAY  # the RTC jumps three days ahead
    mono.now += 10
    reading = clock.read()
    assert reading.suspect and reading.at == NOW + 10
    assert reading.problem is not None and "ahead" in reading.problem
    mono.now += 5
    assert clock.read().at == NOW + 15  # it keeps counting from the anchor, never from the jumped clock


def test_a_backward_jump_is_replaced_by_the_monotonic_estimate(store: GateStore) -> None:
    wall, mono = Ticking(NOW), Ticking(100.0)
    clock = guarded(store, wall, mono)
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
        guarded(store, wall, mono).note_server_time(NOW)  # saved before the power cut
        assert float(store.meta(META_LAST_GOOD) or 0) == NOW
    with GateStore(tmp_path / "gate.db") as store:
        wall, mono = Ticking(3.0), Ticking(7.0)  # no RTC: the Pi thinks it is 1970
        clock = guarded(store, wall, mono)
        mono.now += 20
        reading = clock.read()
        assert (
            reading.suspect
            and reading.at == NOW + 20
            and "before this software was released" in (reading.problem or "")
        )
        assert not clock.state()["from_server"]


def test_a_clock_behind_the_last_known_good_time_is_suspect_at_start(tmp_path: Path) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        store.set_meta(META_LAST_GOOD, str(NOW))
        clock = guarded(store, Ticking(NOW - 5 * DAY), Ticking(0.0))  # fake-hwclock's stale save
        reading = clock.read()
        assert reading.suspect and reading.at == NOW


def test_the_servers_date_recovers_the_time_and_is_saved(store: GateStore) -> None:
    wall, mono = Ticking(5.0), Ticking(0.0)
    clock = guarded(store, wall, mono)
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
    clock = guarded(store, wall, mono)
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
    clock = guarded(store, Ticking(5.0), Ticking(0.0), guard=False)
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
        clock=guarded(clock_store, wall, mono),
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


# -- a boot with a plausible-looking clock that cannot be right


def test_the_release_date_is_in_the_past() -> None:
    # a release date moved into the future would make every gate's true clock suspect
    assert time.time() >= RELEASED_AT


def test_a_new_gate_with_a_clock_before_the_release_is_suspect(store: GateStore) -> None:
    wall, mono = Ticking(RELEASE - 200 * DAY), Ticking(0.0)  # an old image's fake-hwclock save, no RTC
    clock = guarded(store, wall, mono)
    mono.now += 9
    reading = clock.read()
    assert reading.suspect and reading.at == RELEASE + 9
    assert "before this software was released" in (reading.problem or "")


def _run_and_open_once(tmp_path: Path, key: SigningKey, pins: MockFactory) -> None:
    """A gate that ran briefly at ``NOW``: one manual open recorded, no last good time saved yet."""
    controller = _controller(tmp_path, key, Ticking(NOW), Ticking(0.0), pins)
    try:
        controller.manual_open("bus of schoolchildren", people=30)
    finally:
        controller.close()


def test_a_clock_behind_the_newest_event_is_suspect_at_start(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    _run_and_open_once(tmp_path, key, pins)
    with GateStore(tmp_path / "gate.db") as store:
        assert store.meta(META_LAST_GOOD) is None and known_times(store).newest_event == NOW
        wall, mono = Ticking(NOW - 3 * 3600), Ticking(0.0)  # the RTC was set back three hours by hand
        clock = guarded(store, wall, mono)
        mono.now += 5
        reading = clock.read()
        assert reading.suspect and reading.at == NOW + 5
        assert "behind the newest recorded event" in (reading.problem or "")


def test_a_boot_behind_the_newest_event_does_not_bring_an_expired_permit_back(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    _run_and_open_once(tmp_path, key, pins)
    wall, mono = Ticking(NOW - 3 * 3600), Ticking(0.0)  # by this clock the permit below is still valid
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        expired = encode_token(make_permit(valid_from=NOW - 2 * DAY, valid_until=NOW - 2 * 3600), key)
        mono.now += 10
        decision = controller.handle(QrCredential(expired))
        assert decision.reason is Reason.EXPIRED and decision.at == NOW + 10
        event = controller.store.events()[-1]
        assert FLAG_CLOCK_SUSPECT in event.flags and event.occurred_at == (NOW + 10) * 1000
    finally:
        controller.close()


def test_a_clock_years_ahead_of_the_last_good_time_is_suspect_but_a_long_power_cut_is_not(
    tmp_path: Path,
) -> None:
    with GateStore(tmp_path / "gate.db") as store:
        store.set_meta(META_LAST_GOOD, str(NOW))
        ahead = guarded(store, Ticking(NOW + 20 * 365 * DAY), Ticking(0.0))  # an RTC that lost its time
        reading = ahead.read()
        assert (
            reading.suspect and reading.at == NOW and "days after the last known good time" in (reading.problem or "")
        )
        # three weeks dark over a broken UPS: nothing at boot can tell that from a clock three weeks fast
        assert not guarded(store, Ticking(NOW + 21 * DAY), Ticking(0.0)).read().suspect


def test_the_servers_time_corrects_a_last_good_time_saved_from_a_fast_clock(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    wall, mono = Ticking(NOW + 30 * DAY), Ticking(0.0)  # a new gate whose RTC runs a month fast
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        controller.manual_open("first car of the day")
        wall.now += PERSIST_EVERY_S
        mono.now += PERSIST_EVERY_S
        controller.clock.tick()  # nothing contradicted it yet: saved as good
        controller.clock.note_server_time(NOW + PERSIST_EVERY_S)  # the first sync
        assert controller.clock.last_good == NOW + PERSIST_EVERY_S
    finally:
        controller.close()
    with GateStore(tmp_path / "gate.db") as store:
        assert float(store.meta(META_LAST_GOOD) or 0) == NOW + PERSIST_EVERY_S
        assert known_times(store, RELEASE).newest_event is None  # the event timed a month ahead is no bound
        # the RTC set right (hwclock -w) and a restart: trusted, not held back by the month-ahead event
        assert not guarded(store, Ticking(NOW + 3600), Ticking(0.0)).read().suspect


def test_known_times_name_the_first_problem() -> None:
    known = KnownTimes(RELEASE, last_good=NOW, newest_event=NOW + 60)
    assert known.latest == NOW + 60 and known.floor == NOW + 60
    assert known.problem(NOW + 61) is None
    assert "behind the newest recorded event" in (known.problem(NOW + 30) or "")
    assert "behind the last known good time" in (known.problem(NOW - 30) or "")
    assert "before this software was released" in (known.problem(RELEASE - 1) or "")
    assert KnownTimes(RELEASE).floor == RELEASE and KnownTimes(RELEASE).problem(NOW + 400 * DAY) is None


def test_events_of_this_run_timed_by_a_fast_clock_are_forgotten_at_the_first_sync(
    tmp_path: Path, key: SigningKey, pins: MockFactory
) -> None:
    wall, mono = Ticking(NOW + 30 * DAY), Ticking(0.0)  # nothing saved yet: the first minute of a new gate
    controller = _controller(tmp_path, key, wall, mono, pins)
    try:
        controller.manual_open("first car of the day")
        controller.clock.note_server_time(NOW)
    finally:
        controller.close()
    with GateStore(tmp_path / "gate.db") as store:
        assert known_times(store, RELEASE) == KnownTimes(RELEASE, last_good=NOW)
