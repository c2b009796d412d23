"""A park's limits: people at one time (``capacity``) and entries a day (``daily_quota``); 0 = no limit.

Gates receive both with every sync page (``protocol.ParkSettings``) and refuse with ``capacity_full``;
booking refuses a day whose quota is full.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from server.db import parks
from server.errors import InvalidInput
from server.parks import Park, get_park_by_id

MAX_LIMIT = 10_000_000


def set_limits(conn: Connection, park: Park, capacity: int, daily_quota: int) -> Park:
    """Store new limits for ``park``; InvalidInput (nothing changed) when one is negative or absurdly large."""
    for name, value in (("capacity", capacity), ("daily_quota", daily_quota)):
        if not 0 <= value <= MAX_LIMIT:
            raise InvalidInput(f"{name} must be between 0 (no limit) and {MAX_LIMIT}, not {value}")
    conn.execute(parks.update().where(parks.c.id == park.id).values(capacity=capacity, daily_quota=daily_quota))
    return get_park_by_id(conn, park.id)
