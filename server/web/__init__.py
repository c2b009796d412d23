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

from server.errors import AccessDenied, Conflict, InvalidInput, NotFound, ServerError
from server.i18n import N_, LocalizedError, request_language, translate
from server.login_limit import LoginLimiter
from server.ratelimit import TokenBuckets
from server.web import auth, booking, dashboard, permits_pages
from server.web.pages import STATIC_DIR, STATIC_URL, render

PAGE_ROUTERS = (booking.router, auth.router, dashboard.router, permits_pages.router)
API = "/api/"
PUBLIC_API = "/api/v1/public/"
# What a page says for an error that has no sentence of its own (the API answers str(error), in English,
# for programs); the most specific class of the error picks the sentence
PAGE_ERRORS: dict[type[ServerError], str] = {
    auth.BadCsrf: N_("The form expired. Please try again."),
    auth.BearerOnPage: N_("Pages are for staff who log in here; programs use the API with their token."),
    AccessDenied: N_("Your account may not see or change this."),
    NotFound: N_("There is no such park, gate or permit."),
    Conflict: N_("This exists already."),
    InvalidInput: N_("The form is not filled in correctly. Check it and try again."),
    ServerError: N_("The server could not do this. Please try again later."),
}


def _retry_after(exc: ServerError) -> dict[str, str]:
    if isinstance(exc, LocalizedError) and exc.status_code == 429:
        return {"Retry-After": str(exc.params.get("seconds", 1))}
    return {}


async def _server_error(request: Request, exc: Exception) -> Response:
    """Any ``ServerError``: JSON for the API (localized for ``LocalizedError``), an error page for pages."""
    assert isinstance(exc, ServerError)
    lang = request_language(request)
    headers = {"Content-Language": lang, **_retry_after(exc)}
    if request.url.path.startswith(API):
        body = exc.body(lang) if isinstance(exc, LocalizedError) else {"detail": str(exc)}
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    if isinstance(exc, LocalizedError):
        message = exc.text(lang)
    else:
        kind = next(kind for kind in type(exc).__mro__ if kind in PAGE_ERRORS)
        message = translate(lang, PAGE_ERRORS[kind])
    back = "/dashboard" if request.url.path.startswith(("/dashboard", "/permits")) else "/"
    response = render(request, "error.html", {"message": message, "back": back}, exc.status_code)
    response.headers.update(_retry_after(exc))
    return response


async def _invalid_request(request: Request, exc: Exception) -> Response:
    # the visitor's API answers malformed bodies in the visitor's language too; the rest as FastAPI does
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(PUBLIC_API):
        return await request_validation_exception_handler(request, exc)
    # the fields' names only: pydantic's explanations are English sentences
    fields = ", ".join(".".join(str(part) for part in error["loc"] if part != "body") for error in exc.errors())
    return await _server_error(request, LocalizedError("bad_request", detail=fields))


def mount_web(app: FastAPI) -> None:
    """Add the pages, ``/static``, the visitors' and logins' rate limits and the answers in the request's language.

    Under ``/api/``, ``LocalizedError`` and invalid bodies under ``/api/v1/public/`` answer
    ``{"detail": <text in the request's language>, "code", "params"}``, other ``ServerError``s
    ``{"detail": <English text>}``; on pages every ``ServerError`` is an error page in the page's language.
    """
    settings = app.state.settings
    app.state.public_rate = TokenBuckets(settings.public_rate)
    app.state.login_limiter = LoginLimiter(settings.login_rate_address, settings.login_rate_user)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.add_exception_handler(ServerError, _server_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(auth.NotLoggedIn, auth.not_logged_in)


__all__ = ["mount_web"]
