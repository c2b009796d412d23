"""Staff login for the web pages: server-side sessions behind a cookie, and CSRF tokens for every form POST.

The ``qaqpa_session`` cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) holds a random session id; the
database keeps only its sha256 with the user, an expiry and the session's CSRF token. Every form a page
posts carries that token in a hidden ``csrf`` field; ``check_csrf`` compares it in constant time. The login
form itself is protected by a double-submit token (a ``qaqpa_login_csrf`` cookie and the same value in the
form), since there is no session yet to hold one. Attempts to log in are rate limited per client address and
per user name (``server.login_limit``): 429 with ``Retry-After``.

Pages call ``page_user(request, conn)``: the logged-in user, or ``NotLoggedIn`` which answers 401 with the
login page (never a redirect, so a forgotten check cannot hide behind a 303). Bearer tokens are not
accepted on pages (403): pages are for people with a browser session; devices and scripts use the API.
A form POST takes ``FormSession``: the session and its CSRF token are checked before any other field of the
form is, so a forged or stale form is refused (403) whatever it holds.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator, Field, StrictStr
from sqlalchemy.engine import Connection

from protocol.fields import check_line
from server.accounts import Role, User
from server.api.deps import ConnDep
from server.api.schemas import Password, UserName
from server.db import users, web_sessions
from server.errors import ServerError
from server.i18n import N_, LocalizedError, request_language, translate
from server.login_limit import attempt_login
from server.security import DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX, token_hash
from server.web.pages import over_https, render

SESSION_COOKIE = "qaqpa_session"
LOGIN_CSRF_COOKIE = "qaqpa_login_csrf"
SESSION_TTL_S = 12 * 3600
WRONG_PASSWORD = N_("Wrong user name or password.")
FORM_EXPIRED = N_("The form expired. Please try again.")

router = APIRouter(include_in_schema=False)

FormToken = Annotated[StrictStr, Field(max_length=100), AfterValidator(check_line)]
NextUrl = Annotated[StrictStr, Field(max_length=500), AfterValidator(check_line)]


class NotLoggedIn(ServerError):
    """A page asked for without a valid session (HTTP 401, answered with the login page)."""

    status_code = 401


class BadCsrf(ServerError):
    """A form POST whose CSRF token is missing or not the session's (HTTP 403)."""

    status_code = 403


class BearerOnPage(ServerError):
    """A page asked for with an API credential instead of a session (HTTP 403)."""

    status_code = 403


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def create_session(conn: Connection, user: User, now: int | None = None) -> str:
    """A new session for ``user``; returns the cookie value (only its hash is stored)."""
    now = int(time.time()) if now is None else now
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        web_sessions.insert().values(
            id_hash=token_hash(session_id),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + SESSION_TTL_S,
        )
    )
    conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))  # expired ones are dead weight
    return session_id


def session_for(conn: Connection, session_id: str | None, now: int | None = None) -> Session | None:
    if not session_id:
        return None
    now = int(time.time()) if now is None else now
    row = conn.execute(
        sa.select(users.c.id, users.c.name, users.c.role, users.c.park_id, web_sessions.c.csrf)
        .join(web_sessions, web_sessions.c.user_id == users.c.id)
        .where(web_sessions.c.id_hash == token_hash(session_id), web_sessions.c.expires_at > now)
    ).first()
    if row is None:
        return None
    return Session(User(row.id, row.name, Role(row.role), row.park_id), row.csrf)


def page_session(request: Request, conn: Connection) -> Session:
    """The request's session; raises NotLoggedIn without one, BearerOnPage for an API credential."""
    session = session_for(conn, request.cookies.get(SESSION_COOKIE))
    if session is None:
        credential = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if credential.startswith((USER_TOKEN_PREFIX, DEVICE_TOKEN_PREFIX)):
            raise BearerOnPage("pages take a login session, not an API token; log in at /login")
        raise NotLoggedIn("log in to see this page")
    return session


def current_session(request: Request, conn: ConnDep) -> Session:
    """Dependency form of ``page_session``: runs before the form is parsed, so no check waits on valid input."""
    return page_session(request, conn)


PageSession = Annotated[Session, Depends(current_session)]


def check_csrf(session: Session, token: object) -> None:
    """Raise BadCsrf unless ``token`` is the session's CSRF token."""
    # surrogatepass: a posted token may be any text, and comparing it must not fail on one no encoder writes
    if not isinstance(token, str) or not token:
        raise BadCsrf("the form's security token is missing; reload the page and try again")
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), session.csrf.encode()):
        raise BadCsrf("the form's security token is stale; reload the page and try again")


async def posted_session(request: Request, session: PageSession) -> Session:
    """The session of a form POST whose ``csrf`` field is the session's token, checked before the other fields."""
    form = await request.form()  # parsed once: FastAPI reads the same form for the route's fields
    check_csrf(session, form.get("csrf"))
    return session


FormSession = Annotated[Session, Depends(posted_session)]


def login_page(
    request: Request, status_code: int = 200, error: str | None = None, next_url: str = "/dashboard"
) -> Response:
    """The login form with a fresh double-submit CSRF token; ``error`` is a sentence already in the page's language."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"csrf": token, "error": error, "next": next_url}, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login", secure=over_https(request)
    )
    return response


def _refused(request: Request, status_code: int, error: str | LocalizedError, next_url: str) -> Response:
    lang = request_language(request)
    text = error.text(lang) if isinstance(error, LocalizedError) else translate(lang, error)
    return login_page(request, status_code, text, _safe_next(next_url))


def _safe_next(value: str) -> str:
    # only paths on this server: "//evil.example" and "https://..." would send the user away after login
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/dashboard"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[NextUrl, Query()] = "/dashboard") -> Response:
    return login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    conn: ConnDep,
    username: Annotated[UserName, Form()],
    password: Annotated[Password, Form()],
    csrf: Annotated[FormToken, Form()] = "",
    next: Annotated[NextUrl, Form()] = "/dashboard",
) -> Response:
    """Check the password and start a session; a wrong one shows the form again with 401, too many tries 429."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not cookie or not hmac.compare_digest(csrf.encode(), cookie.encode()):
        return _refused(request, 403, FORM_EXPIRED, next)
    try:
        user = attempt_login(request, conn, username.strip(), password)
    except LocalizedError as err:
        response = _refused(request, err.status_code, err, next)
        response.headers["Retry-After"] = str(err.params["seconds"])
        return response
    if user is None:
        return _refused(request, 401, WRONG_PASSWORD, next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        create_session(conn, user),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, conn: ConnDep, session: FormSession) -> Response:
    """End the session (CSRF-checked, so another site cannot log staff out)."""
    conn.execute(web_sessions.delete().where(web_sessions.c.id_hash == token_hash(request.cookies[SESSION_COOKIE])))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def not_logged_in(request: Request, exc: Exception) -> Response:
    """NotLoggedIn → the login page with 401, coming back to the page asked for after login."""
    next_url = request.url.path if request.method == "GET" else "/dashboard"
    return login_page(request, 401, None, next_url)
