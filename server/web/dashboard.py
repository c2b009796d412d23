"""Staff pages: the management dashboard of a park, its limits form and the export links.

Admins see every park, managers and rangers their own; only an admin or the park's manager may change
limits or export. Numbers come from ``server.stats_dashboard``, the same as the API's.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from protocol.fields import CountText
from server.api.deps import ConnDep, ParkSlug
from server.capacity import set_limits
from server.i18n import format_day_short, format_month, format_time, request_language
from server.park_time import days_bounds, local, park_today
from server.parks import Park, get_park, list_parks
from server.stats_dashboard import dashboard
from server.web.auth import FormSession, PageSession, Session
from server.web.pages import render

router = APIRouter(include_in_schema=False)


def chart_labels(park: Park, data: dict[str, Any], lang: str) -> dict[str, list[str]]:
    """The charts' axis labels in ``lang``: local hours, days of the daily chart, months of the monthly one."""
    return {
        "hours": [format_time(hour * 60, lang) for hour in range(24)],
        "days": [format_day_short(local(point["day"], park.timezone).date(), lang) for point in data["daily"]],
        "months": [format_month(dt.date.fromisoformat(f"{point['month']}-01"), lang) for point in data["monthly"]],
    }


@router.get("/dashboard", response_class=HTMLResponse)
def parks_page(request: Request, conn: ConnDep, session: PageSession) -> Response:
    """The parks this user may see; straight to the park's dashboard when there is one."""
    user = session.user
    parks = list_parks(conn, None if user.role == "admin" else (user.park_id if user.park_id is not None else -1))
    if len(parks) == 1:
        return RedirectResponse(f"/dashboard/{parks[0].slug}", status_code=303)
    return render(request, "dashboard/index.html", {"parks": parks, "session": session})


@router.get("/dashboard/{park}", response_class=HTMLResponse)
def park_page(request: Request, conn: ConnDep, session: PageSession, park: ParkSlug) -> Response:
    """A park's load now, gates, profiles, heatmap, totals, breakdowns and offline conflicts."""
    found = get_park(conn, park)
    session.user.require_read(found)
    now = int(time.time())
    data = dashboard(conn, found, now)
    start, end = days_bounds(found, park_today(found, now) - dt.timedelta(days=29), 30)
    export = {"from": start, "to": end}
    labels = chart_labels(found, data, request_language(request))
    return render(
        request,
        "dashboard/park.html",
        {
            "session": session,
            "park": found,
            "data": data,
            "labels": labels,
            "can_manage": session.user.can_manage(found),
            "export": export,
        },
    )


def _manager(session: FormSession) -> Session:
    # a dependency of its own, so it runs before the park's slug is even checked (a ranger is told 403 whatever
    # the path holds), as server.api.deps._manager
    session.user.require_manager()
    return session


def _managed_park(conn: ConnDep, session: Annotated[Session, Depends(_manager)], park: ParkSlug) -> Park:
    found = get_park(conn, park)
    session.user.require_manage(found)
    return found


@router.post("/dashboard/{park}/limits")
def limits_form(
    conn: ConnDep,
    park: Annotated[Park, Depends(_managed_park)],
    capacity: Annotated[CountText, Form()],
    daily_quota: Annotated[CountText, Form()],
) -> Response:
    """Save a park's people-at-one-time limit and daily quota (admin or the park's manager); who may is checked
    before the numbers are."""
    set_limits(conn, park, capacity, daily_quota)
    return RedirectResponse(f"/dashboard/{park.slug}?saved=1", status_code=303)
