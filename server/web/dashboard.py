"""Staff pages: the management dashboard of a park, its limits form and the export links.

Admins see every park, managers and rangers their own; only an admin or the park's manager may change
limits or export. Numbers come from ``server.stats_dashboard``, the same as the API's.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from server.api.deps import ConnDep
from server.capacity import set_limits
from server.park_time import days_bounds, park_today
from server.parks import get_park, list_parks
from server.stats_dashboard import dashboard
from server.web.auth import PageSession, check_csrf
from server.web.pages import render

router = APIRouter(include_in_schema=False)


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
    return render(
        request,
        "dashboard/park.html",
        {
            "session": session,
            "park": found,
            "data": data,
            "chart_data": Markup(json.dumps(data).replace("</", "<\\/")),
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
