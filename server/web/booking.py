"""The visitor's booking pages: choose a park, a day, the party and a vehicle; see the price; get the permit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from server.api.deps import ConnDep
from server.parks import list_parks
from server.web.pages import render

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, conn: ConnDep) -> HTMLResponse:
    """The parks a visitor can book."""
    return render(request, "booking/parks.html", {"parks": list_parks(conn)})
