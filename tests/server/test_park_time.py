"""A park's local day, hour, weekday and month come from its own time zone, for bookings and stats alike."""

from __future__ import annotations

import datetime as dt

import pytest

from server.errors import InvalidInput
from server.park_time import (
    check_timezone,
    day_bounds,
    day_start,
    days_bounds,
    local,
    month_start,
    park_day_start,
    park_today,
)
from server.parks import Park

ALMATY = Park(1, "altyn", "Altyn-Emel", "Asia/Almaty", 0, 0)
AQTOBE = Park(2, "irgiz", "Irgiz-Torgai", "Asia/Aqtobe", 0, 0)
# 2025-06-01 00:00 in Almaty (UTC+5) is 2025-05-31 19:00 UTC
JUNE_1 = 1_748_718_000


def test_a_day_starts_at_the_park_midnight() -> None:
    assert day_bounds(ALMATY, dt.date(2025, 6, 1)) == (JUNE_1, JUNE_1 + 86400)
    assert day_start(JUNE_1 + 86399, "Asia/Almaty") == JUNE_1
    assert day_start(JUNE_1 - 1, "Asia/Almaty") == JUNE_1 - 86400
    assert park_today(ALMATY, JUNE_1) == dt.date(2025, 6, 1)
    assert park_today(ALMATY, JUNE_1 - 1) == dt.date(2025, 5, 31)
    assert park_day_start(ALMATY, JUNE_1 + 5000) == JUNE_1
    assert local(JUNE_1 + 9 * 3600, "Asia/Almaty").hour == 9
    assert days_bounds(ALMATY, dt.date(2025, 6, 1), 30) == (JUNE_1, JUNE_1 + 30 * 86400)
    assert month_start(2025, 6, "Asia/Almaty") == JUNE_1
    assert month_start(2024, 18, "Asia/Almaty") == JUNE_1  # month 18 of 2024 is June 2025


def test_almaty_was_utc_plus_6_before_march_2024() -> None:
    # the tz database knows Kazakhstan's move to one zone; a fixed UTC+5 would put this day an hour off
    start, end = day_bounds(ALMATY, dt.date(2023, 6, 1))
    assert start == int(dt.datetime(2023, 5, 31, 18, tzinfo=dt.UTC).timestamp())
    assert end - start == 86400
    assert park_today(ALMATY, start) == dt.date(2023, 6, 1)


def test_each_park_counts_days_in_its_own_zone() -> None:
    # Aqtobe has been UTC+5 all along: the same instant is the same day, its midnight the same
    assert day_bounds(AQTOBE, dt.date(2025, 6, 1)) == day_bounds(ALMATY, dt.date(2025, 6, 1))
    assert day_bounds(AQTOBE, dt.date(2023, 6, 1))[0] == day_bounds(ALMATY, dt.date(2023, 6, 1))[0] + 3600


def test_a_park_zone_must_be_known_and_whole_hours_from_utc() -> None:
    assert check_timezone("Asia/Almaty") == "Asia/Almaty"
    assert check_timezone("Europe/Berlin") == "Europe/Berlin"  # summer time keeps whole hours
    with pytest.raises(InvalidInput, match="not a whole number of hours"):
        check_timezone("Asia/Kolkata")
    with pytest.raises(InvalidInput, match="unknown time zone"):
        check_timezone("Mars/Olympus")
