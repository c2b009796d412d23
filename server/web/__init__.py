"""The server's web pages (Jinja2, server-rendered) and what they share: ``mount_web(app)``.

``server.web.pages`` holds ``render`` and the template environment; ``server.web.booking`` the visitor's
booking pages. A page module exposes ``router`` and is listed in ``PAGE_ROUTERS`` below.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from server.i18n import LocalizedError, request_language
from server.web import booking
from server.web.pages import STATIC_DIR, STATIC_URL

PAGE_ROUTERS = (booking.router,)


async def _localized_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LocalizedError)
    headers: dict[str, str] = {"Content-Language": request_language(request)}
    if exc.status_code == 429:
        headers["Retry-After"] = str(exc.params.get("seconds", 1))
    return JSONResponse(exc.body(request_language(request)), status_code=exc.status_code, headers=headers)


def mount_web(app: FastAPI) -> None:
    """Add the pages, ``/static`` and the answer to ``LocalizedError`` (text in the request's language)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LocalizedError, _localized_error)


__all__ = ["mount_web"]
