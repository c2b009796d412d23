"""What every answer carries against a hostile page, and the answer when the database is out of reach:
``install_hardening(app)``.

* Every response (pages, static files, the API, errors) gets a Content-Security-Policy that lets scripts,
  styles, images and connections come from this site only and never inline (the templates keep their
  scripts and styles in ``server/static``), so text a gate or a visitor sent can never run as script;
  ``frame-ancestors 'none'`` and ``X-Frame-Options`` (no page in another site's frame), ``nosniff``
  (a JSON or CSV answer is never taken for a script or a page) and a referrer policy that keeps the
  URLs of staff pages within the site. The OpenAPI viewers (``/docs``, ``/redoc``) load their code from
  a CDN, inline: they get a policy of their own, with the same framing and sniffing rules.
* A database that is down, unreachable or too busy to answer (``is_database_down``) answers 503 with
  ``Retry-After``: JSON under ``/api/``, the error page in the request's language elsewhere. Gates keep
  their events and send them again; nobody sees a traceback. Any other database error is a bug: a 500.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import Unavailable
from server.web import server_error

log = logging.getLogger(__name__)

# what a database out of reach raises: its server, the network or the pool is down or busy
DATABASE_DOWN: Final = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# SQLite raises OperationalError for a bad statement too: only these say the file is out of reach
SQLITE_DOWN: Final = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "unable to open database file",
    "database or disk is full",
)

_FRAMING_AND_SNIFFING: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# FastAPI's Swagger UI and ReDoc pages: their bundles and styles from jsDelivr, started by an inline script
DOCS_CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src https://fonts.gstatic.com",
        "img-src 'self' data: https:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every HTTP response, ``docs_paths`` with the docs' policy."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.headers = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), *_FRAMING_AND_SNIFFING]
        self.docs_headers = [
            (b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode()),
            *_FRAMING_AND_SNIFFING,
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.docs_headers if scope["path"] in self.docs_paths else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in added}
                kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in names]
                message = {**message, "headers": [*kept, *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_database_down(exc: Exception) -> bool:
    """Whether ``exc`` says the database cannot be reached now (rather than that a statement is wrong)."""
    if isinstance(exc, sa_exc.TimeoutError) or getattr(exc, "connection_invalidated", False):
        return True
    driver_error = getattr(exc, "orig", None)
    if isinstance(driver_error, sqlite3.Error):
        return any(text in str(driver_error).lower() for text in SQLITE_DOWN)
    return isinstance(exc, DATABASE_DOWN)


async def database_down(request: Request, exc: Exception) -> Response:
    """503 with Retry-After: JSON for the API, the error page in the request's language for pages."""
    if not is_database_down(exc):
        raise exc  # a bug: the server's 500, with the traceback in the log
    # the driver's message, not SQLAlchemy's: that one quotes the statement's parameters
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, getattr(exc, "orig", exc))
    return await server_error(request, Unavailable("the database is unavailable; try again later"))


def install_hardening(app: FastAPI) -> None:
    """Security headers on every response and 503 + Retry-After while the database is out of reach."""
    for error in DATABASE_DOWN:
        app.add_exception_handler(error, database_down)
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(SecurityHeaders, docs_paths=frozenset(path for path in docs if path))
