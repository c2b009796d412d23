"""Open-data export for the national environmental data bank: CSV with CSV-on-the-Web metadata.

One row per park, period (park-local day or UTC hour), category and direction: people admitted, admitted
events and refused events. Times are ISO-8601 in UTC (a park-local day of UTC+5 starts at 19:00Z the day
before); the CSV is UTF-8 with a header row and CRLF line ends (RFC 4180). The metadata document follows
the W3C "Metadata Vocabulary for Tabular Data" (``@context`` http://www.w3.org/ns/csvw) so a reader
learns the columns' names, titles and datatypes without reading our code.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from server.db import event_counts, event_days
from server.errors import InvalidInput
from server.park_time import day_start
from server.parks import Park
from server.stats import ADMITTING

Period = Literal["day", "hour"]
MAX_SPAN_S = {"hour": 92 * 86400, "day": 3660 * 86400}
COLUMNS: list[dict[str, Any]] = [
    {"name": "park", "titles": "park", "datatype": "string", "dc:description": "park slug"},
    {"name": "period_start", "titles": "period start (UTC)", "datatype": "dateTime"},
    {"name": "period_end", "titles": "period end (UTC)", "datatype": "dateTime"},
    {
        "name": "category",
        "titles": "category",
        "datatype": "string",
        "dc:description": "tariff category or vehicle class; empty when the gate reported none",
    },
    {"name": "direction", "titles": "direction", "datatype": {"base": "string", "format": "entry|exit"}},
    {"name": "people", "titles": "people admitted", "datatype": "nonNegativeInteger"},
    {"name": "admitted_events", "titles": "admitted passages", "datatype": "nonNegativeInteger"},
    {"name": "refused_events", "titles": "refused passages", "datatype": "nonNegativeInteger"},
]


def iso_utc(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def check_range(park: Park, start: int, end: int, period: Period) -> tuple[int, int]:
    """The range snapped to whole periods; InvalidInput when it is empty or too long."""
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    if end - start > MAX_SPAN_S[period]:
        raise InvalidInput(f"at most {MAX_SPAN_S[period] // 86400} days per {period}ly export; narrow from/to")
    if period == "day":
        return day_start(start, park.timezone), end
    return start // 3600 * 3600, end


def export_rows(conn: Connection, park: Park, start: int, end: int, period: Period) -> Iterator[list[Any]]:
    """The CSV's data rows, oldest period first, from the roll-up (never from the events)."""
    start, end = check_range(park, start, end, period)
    table = event_days if period == "day" else event_counts
    when = table.c.day if period == "day" else table.c.hour
    admitted = table.c.reason.in_(ADMITTING)
    query = (
        sa.select(
            when,
            table.c.category,
            table.c.direction,
            sa.func.sum(sa.case((admitted, table.c.people), else_=0)),
            sa.func.sum(sa.case((admitted, table.c.events), else_=0)),
            sa.func.sum(sa.case((admitted, 0), else_=table.c.events)),
        )
        .where(table.c.park_id == park.id, when >= start, when < end)
        .group_by(when, table.c.category, table.c.direction)
        .order_by(when, table.c.category, table.c.direction)
    )
    step = 86400 if period == "day" else 3600
    for t, category, direction, people, admitted_n, refused_n in conn.execute(query):
        yield [
            park.slug,
            iso_utc(t),
            iso_utc(t + step),
            category,
            direction,
            int(people),
            int(admitted_n),
            int(refused_n),
        ]


def export_csv(conn: Connection, park: Park, start: int, end: int, period: Period) -> str:
    """The whole CSV document (header and rows)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column["name"] for column in COLUMNS])
    writer.writerows(export_rows(conn, park, start, end, period))
    return buffer.getvalue()


def csvw_metadata(park: Park, csv_url: str, start: int, end: int, period: Period) -> dict[str, Any]:
    """The CSV-on-the-Web metadata document describing the CSV at ``csv_url``."""
    start, end = check_range(park, start, end, period)
    return {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "url": csv_url,
        "dc:title": f"Visitors of {park.name} per {period} by category and direction",
        "dc:description": (
            f"People admitted and passages admitted and refused at the gates of {park.name} ({park.slug}), "
            f"per {'park-local day (UTC+5)' if period == 'day' else 'hour'}, from {iso_utc(start)} to {iso_utc(end)}."
        ),
        "dc:publisher": "Qaqpa",
        "dc:spatial": park.slug,
        "dc:temporal": f"{iso_utc(start)}/{iso_utc(end)}",
        "dc:modified": iso_utc(int(time.time())),
        "dialect": {"encoding": "utf-8", "header": True, "delimiter": ",", "lineTerminators": ["\r\n"]},
        "tableSchema": {
            "columns": COLUMNS,
            "primaryKey": ["park", "period_start", "category", "direction"],
        },
    }
