"""Staff pages: the management dashboard of a park, its limits form and the export links.

Admins see every park, managers and rangers their own; only an admin or the park's manager may change
limits or export. Numbers come from ``server.stats_dashboard``, the same as the API's.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from server.api.deps import ConnDep
from server.capacity import set_limits
from server.i18n import format_day_short, format_month, format_time, request_language
from server.park_time import days_bounds, local, park_today
from server.parks import Park, get_park, list_parks
from server.stats_dashboard import dashboard
from server.web.auth import PageSession, check_csrf
from server.web.pages import render

router = APIRouter(include_in_schema=False)


def _json_script(value: object) -> Markup:
    # inside <script type="application/json">: "</" would end the element early
    return Markup(json.dumps(value, ensure_ascii=False).replace("</", "<\\/"))


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
def park_page(request: Request, conn: ConnDep, session: PageSession, park: str) -> Response:
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
            "chart_data": _json_script(data),
            "labels": labels,
            "chart_labels": _json_script(labels),
            "can_manage": session.user.can_manage(found),
            "export": export,
        },
    )


@router.post("/dashboard/{park}/limits")
def limits_form(
    request: Request,
    conn: ConnDep,
    session: PageSession,
    park: str,
    capacity: Annotated[int, Form(ge=0)],
    daily_quota: Annotated[int, Form(ge=0)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Save a park's people-at-one-time limit and daily quota (admin or the park's manager)."""
    check_csrf(session, csrf)
    found = get_park(conn, park)
    session.user.require_manage(found)
    set_limits(conn, found, capacity, daily_quota)
    return RedirectResponse(f"/dashboard/{found.slug}?saved=1", status_code=303)
