"""A park's local time: its day, hour, weekday and month, from the park's IANA time zone.

Everything the server stores is UTC (unix seconds); whatever a person reads as "today", "9 o'clock" or
"June" is in the park's own zone (``parks.timezone``, ``Asia/Almaty`` by default: Kazakhstan has been on
UTC+5 since 2024-03-01, UTC+6 before). Bookings, stats, roll-ups, the dashboard and the staff pages all ask
this module, so a visitor's booked day, a gate's daily quota and the manager's "today" are one day.

The hourly roll-up keeps UTC hours; a park-local midnight falls on a UTC hour boundary because every zone
a park may have has a whole-hour offset (``check_timezone`` refuses the others), so a local day is always
a whole number of roll-up hours.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.errors import InvalidInput

if TYPE_CHECKING:
    from server.parks import Park

HOUR = 3600
DAY = 86400
# what an IANA zone name can be (``parks.timezone`` holds 64 characters): checked before the name becomes a
# file name in the tz database, where a long one fails with OSError and a directory ("Asia") opens as one
MAX_TIMEZONE_CHARS = 64
TIMEZONE_PATTERN = r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"
_TIMEZONE_NAME = re.compile(TIMEZONE_PATTERN)


@lru_cache(maxsize=64)
def zone(timezone: str) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA zone name; InvalidInput for a name the tz database does not know."""
    unknown = f"unknown time zone {timezone[:MAX_TIMEZONE_CHARS]!r}; give an IANA name such as 'Asia/Almaty'"
    if len(timezone) > MAX_TIMEZONE_CHARS or not _TIMEZONE_NAME.fullmatch(timezone):
        raise InvalidInput(unknown)
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise InvalidInput(unknown) from err


def check_timezone(timezone: str, now: int | None = None) -> str:
    """``timezone`` if it can be a park's zone: known, and a whole number of hours from UTC now and ahead."""
    info = zone(timezone)
    start = int(time.time()) if now is None else now
    for t in range(start, start + 366 * DAY, 30 * DAY):
        offset = dt.datetime.fromtimestamp(t, info).utcoffset()
        if offset is not None and offset.total_seconds() % HOUR:
            raise InvalidInput(f"time zone {timezone!r} is not a whole number of hours from UTC")
    return timezone


def local(t: int, timezone: str) -> dt.datetime:
    """The wall-clock time in ``timezone`` at unix second ``t`` (an aware datetime)."""
    return dt.datetime.fromtimestamp(t, zone(timezone))


def midnight(day: dt.date, timezone: str) -> int:
    """Unix seconds of the local midnight that starts ``day`` in ``timezone``."""
    return int(dt.datetime.combine(day, dt.time(), zone(timezone)).timestamp())


def day_start(t: int, timezone: str) -> int:
    """Unix seconds of the local midnight at or before ``t`` in ``timezone``."""
    return midnight(local(t, timezone).date(), timezone)


def month_start(year: int, month: int, timezone: str) -> int:
    """Unix seconds of the local midnight that starts ``year``-``month`` (months past 12 roll into later years)."""
    extra_years, month_index = divmod(month - 1, 12)
    return midnight(dt.date(year + extra_years, month_index + 1, 1), timezone)


def day_bounds(park: Park, day: dt.date) -> tuple[int, int]:
    """Unix seconds of the park-local midnight starting ``day`` and of the next."""
    return days_bounds(park, day, 1)


def days_bounds(park: Park, first: dt.date, days: int) -> tuple[int, int]:
    """Unix seconds of the park-local midnight starting ``first`` and of the one ``days`` days later."""
    return midnight(first, park.timezone), midnight(first + dt.timedelta(days=days), park.timezone)


def park_today(park: Park, now: int | None = None) -> dt.date:
    """The park-local calendar day at ``now`` (default: the current time)."""
    return local(int(time.time()) if now is None else now, park.timezone).date()


def park_day_start(park: Park, now: int | None = None) -> int:
    """Unix seconds of the park-local midnight that started the day of ``now``."""
    return day_start(int(time.time()) if now is None else now, park.timezone)
