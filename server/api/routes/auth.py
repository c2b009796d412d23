"""OAuth2 password flow: a user name and password in, an opaque bearer token out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from server.accounts import issue_access_token
from server.api.deps import ConnDep, SettingsDep
from server.login_limit import attempt_login

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token")
def login(
    request: Request, conn: ConnDep, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """Exchange a user name and password for an access token (rate limited per address and user name: 429)."""
    user = attempt_login(request, conn, form.username, form.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "incorrect user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return TokenOut(access_token=issue_access_token(conn, user, settings.access_token_ttl_s))
