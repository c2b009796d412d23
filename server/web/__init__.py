"""The server's web pages (Jinja2, server-rendered) and what they share: ``mount_web(app)``.

``server.web.pages`` holds ``render`` and the template environment; ``server.web.booking`` the visitor's
booking pages. A page module exposes ``router`` and is listed in ``PAGE_ROUTERS`` below.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from server.i18n import LocalizedError, request_language
from server.ratelimit import TokenBuckets
from server.web import auth, booking, dashboard, permits_pages
from server.web.pages import STATIC_DIR, STATIC_URL

PAGE_ROUTERS = (booking.router, auth.router, dashboard.router, permits_pages.router)
PUBLIC_API = "/api/v1/public/"


async def _localized_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LocalizedError)
    headers: dict[str, str] = {"Content-Language": request_language(request)}
    if exc.status_code == 429:
        headers["Retry-After"] = str(exc.params.get("seconds", 1))
    return JSONResponse(exc.body(request_language(request)), status_code=exc.status_code, headers=headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    # the visitor's API answers malformed bodies in the visitor's language too; the rest as FastAPI does
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(PUBLIC_API):
        return await request_validation_exception_handler(request, exc)
    fields = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'] if part != 'body')}: {error['msg']}" for error in exc.errors()
    )
    return await _localized_error(request, LocalizedError("bad_request", detail=fields))


def mount_web(app: FastAPI) -> None:
    """Add the pages, ``/static``, the visitors' rate limit and the answers in the request's language.

    ``LocalizedError`` anywhere, and invalid bodies under ``/api/v1/public/``, answer
    ``{"detail": <text in the request's language>, "code", "params"}``.
    """
    app.state.public_rate = TokenBuckets(app.state.settings.public_rate)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LocalizedError, _localized_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(auth.NotLoggedIn, auth.not_logged_in)


__all__ = ["mount_web"]
