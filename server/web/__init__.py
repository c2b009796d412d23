"""The server's web pages (Jinja2, server-rendered) and what they share: ``mount_web(app)``.

``server.web.pages`` holds ``render`` and the template environment; ``server.web.booking`` the visitor's
booking pages. A page module exposes ``router`` and is listed in ``PAGE_ROUTERS`` below.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from server.api.deps import InvalidJSON
from server.errors import AccessDenied, Conflict, InvalidInput, NotFound, ServerError, Unavailable
from server.i18n import API_PREFIX, N_, LocalizedError, request_language, translate
from server.login_limit import LoginLimiter
from server.ratelimit import TokenBuckets
from server.web import auth, booking, dashboard, permits_pages
from server.web.pages import STATIC_DIR, STATIC_URL, render

PAGE_ROUTERS = (booking.router, auth.router, dashboard.router, permits_pages.router)
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
    if isinstance(exc, Unavailable):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


async def server_error(request: Request, exc: Exception) -> Response:
    """Any ``ServerError``: JSON for the API (localized for ``LocalizedError``), an error page for pages."""
    assert isinstance(exc, ServerError)
    lang = request_language(request)
    headers = {"Content-Language": lang, **_retry_after(exc)}
    if request.url.path.startswith(API_PREFIX):
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


MAX_SHOWN_CHARS = 64  # of a field's name in ``loc``: a name in a refused body may be anything the sender chose
MAX_MESSAGE_CHARS = 300
MAX_FIELD_ERRORS = 20


def _shown(text: str, limit: int) -> str:
    """``text`` cut to ``limit``, with what cannot be shown or encoded (controls, bidi, lone surrogates) escaped."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in cut)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """What was wrong where, without the values sent: a value may be NaN (which JSON cannot carry), megabytes
    long, or text no encoder can write, and the sender has it anyway."""
    found: list[dict[str, Any]] = []
    for error in exc.errors()[:MAX_FIELD_ERRORS]:
        if isinstance(error.get("input"), InvalidJSON):
            reason = error["input"].reason
            found.append({"loc": ["body"], "msg": f"body is not valid JSON: {reason}", "type": "json_invalid"})
            continue
        loc = [part if isinstance(part, int) else _shown(str(part), MAX_SHOWN_CHARS) for part in error["loc"]]
        found.append({"loc": loc, "msg": _shown(str(error["msg"]), MAX_MESSAGE_CHARS), "type": str(error["type"])})
    return found


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A request that failed its checks (422): in the API ``ErrorPublic`` with the refused fields' places in
    ``errors`` and a sentence in the request's language; on pages the error page."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(API_PREFIX):
        return await server_error(request, InvalidInput("the request is not valid"))
    errors = field_errors(exc)
    # the fields' names only in the sentence: pydantic's explanations are English, in ``errors``
    names = dict.fromkeys(".".join(str(part) for part in error["loc"] if part != "body") or "body" for error in errors)
    lang = request_language(request)
    body = {**LocalizedError("bad_request", detail=", ".join(names)).body(lang), "errors": errors}
    return JSONResponse(body, status_code=422, headers={"Content-Language": lang})


def mount_web(app: FastAPI) -> None:
    """Add the pages, ``/static``, the visitors' and logins' rate limits and the answers in the request's language.

    Under ``/api/`` every error is ``server.api.schemas.ErrorPublic``: ``LocalizedError`` and invalid requests
    ``{"detail": <text in the request's language>, "code", "params"}`` (invalid requests with ``errors``, where),
    other ``ServerError``s ``{"detail": <English text>}``; on pages every ``ServerError`` and invalid request is
    an error page in the page's language.
    """
    settings = app.state.settings
    app.state.public_rate = TokenBuckets(settings.public_rate)
    app.state.login_limiter = LoginLimiter(settings.login_rate_address, settings.login_rate_user)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.add_exception_handler(ServerError, server_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(auth.NotLoggedIn, auth.not_logged_in)


__all__ = ["mount_web"]
