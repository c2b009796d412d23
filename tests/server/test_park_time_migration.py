"""Revision 0006 on a database with history: days by each park's zone, people roll-ups filled from the old ones."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command

from server.db import alembic_config, event_counts, event_days, make_engine, people_days, people_hours, upgrade

# 2023-05-31 18:00 UTC: midnight of 1 June in Almaty (UTC+6 then), 23:00 of 31 May at a fixed UTC+5
HOUR_2023 = int(dt.datetime(2023, 5, 31, 18, tzinfo=dt.UTC).timestamp())
JUNE_1_2023_ALMATY = HOUR_2023


def _rows(conn: sa.Connection, table: sa.Table) -> set[tuple[object, ...]]:
    return {tuple(row) for row in conn.execute(sa.select(table))}


def test_upgrade_rebuilds_days_by_park_zone_and_fills_people(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        command.upgrade(alembic_config(engine), "0005")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO parks (id, slug, name, timezone, capacity, daily_quota, created_at) "
                    "VALUES (1, 'altyn', 'Altyn-Emel', 'Asia/Almaty', 0, 0, 0)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO gates (id, park_id, slug, name, direction, created_at) "
                    "VALUES (1, 1, 'in', 'in', 'entry', 0), (2, 1, 'out', 'out', 'exit', 0)"
                )
            )
            hourly = [
                (HOUR_2023, 1, "entry", "granted", "adult", 2, 5),
                (HOUR_2023, 1, "entry", "expired", "adult", 1, 0),
                (HOUR_2023 + 3600, 2, "exit", "granted", "adult", 1, 3),
                (HOUR_2023 - 3600, 1, "entry", "manual", "", 1, 1),
            ]
            for hour, gate, direction, reason, category, n, people in hourly:
                values = {"park_id": 1, "gate_id": gate, "direction": direction, "reason": reason}
                values |= {"category": category, "events": n, "people": people}
                conn.execute(event_counts.insert().values(hour=hour, **values))
                # as revision 0004 left it: the day of a fixed UTC+5
                conn.execute(event_days.insert().values(day=(hour + 18000) // 86400 * 86400 - 18000, **values))
        upgrade(engine)
        with engine.connect() as conn:
            days = {(r.day, r.gate_id, r.reason): (r.events, r.people) for r in conn.execute(sa.select(event_days))}
            assert days == {
                (JUNE_1_2023_ALMATY, 1, "granted"): (2, 5),
                (JUNE_1_2023_ALMATY, 1, "expired"): (1, 0),
                (JUNE_1_2023_ALMATY, 2, "granted"): (1, 3),
                (JUNE_1_2023_ALMATY - 86400, 1, "manual"): (1, 1),
            }
            assert _rows(conn, people_hours) == {
                (1, HOUR_2023, 1, 5, 0),
                (1, HOUR_2023 + 3600, 2, 0, 3),
                (1, HOUR_2023 - 3600, 1, 1, 0),
            }
            assert _rows(conn, people_days) == {
                (1, JUNE_1_2023_ALMATY, 1, 5, 0),
                (1, JUNE_1_2023_ALMATY, 2, 0, 3),
                (1, JUNE_1_2023_ALMATY - 86400, 1, 1, 0),
            }
        command.downgrade(alembic_config(engine), "0005")
        with engine.connect() as conn:
            fixed = {row.day for row in conn.execute(sa.select(event_days.c.day))}
            # back to the fixed UTC+5: 18:00 and 17:00 UTC in the day of 31 May, 19:00 UTC starts 1 June
            assert fixed == {HOUR_2023 - 23 * 3600, HOUR_2023 + 3600}
    finally:
        engine.dispose()
