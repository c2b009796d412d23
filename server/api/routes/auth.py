"""OAuth2 password flow: a user name and password in, an opaque bearer token out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request, status
from pydantic import BaseModel, Field, StrictStr

from protocol.fields import Label
from server.accounts import issue_access_token
from server.api.deps import ConnDep, SettingsDep, answers
from server.api.schemas import Password, UserName
from server.login_limit import attempt_login

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class PasswordForm(BaseModel):
    """The OAuth2 password grant (RFC 6749 §4.3) as a form; scopes and clients are not used."""

    grant_type: Literal["password"] | None = None
    username: UserName
    password: Password
    scope: Annotated[StrictStr, Field(max_length=200, pattern=r"^[\x21-\x7e ]*$")] = ""
    client_id: Label | None = None
    client_secret: Label | None = None


@router.post("/auth/token", responses=answers(400, 401, 422, 429))
def login(request: Request, conn: ConnDep, settings: SettingsDep, form: Annotated[PasswordForm, Form()]) -> TokenOut:
    """Exchange a user name and password for an access token (rate limited per address and user name: 429)."""
    user = attempt_login(request, conn, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "incorrect user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return TokenOut(access_token=issue_access_token(conn, user, settings.access_token_ttl_s))
