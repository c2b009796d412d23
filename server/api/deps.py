"""FastAPI dependencies as ``Annotated`` aliases: the request's connection, its user or its device."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from sqlalchemy.engine import Connection, Engine

from protocol import SigningKey
from server.accounts import User, user_for_token
from server.config import Settings
from server.parks import Gate, gate_for_device_token
from server.security import DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX

# auto_error=False: we answer missing and wrong credentials ourselves, with 401 vs 403 told apart
_user_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_device_scheme = HTTPBearer(auto_error=False, description="device token (qd_...) of one gate")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back when it raises."""
    with engine.begin() as conn:
        yield conn


# scope="function": commit before the response is sent, so a client never sees success for a lost write
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SigningKeyDep = Annotated[SigningKey, Depends(get_signing_key)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def get_current_user(conn: ConnDep, token: Annotated[str | None, Depends(_user_scheme)]) -> User:
    if not token:
        raise _unauthorized("not authenticated: send Authorization: Bearer <access token>")
    if token.startswith(DEVICE_TOKEN_PREFIX):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a device token may only call /api/v1/gate/*")
    user = user_for_token(conn, token)
    if user is None:
        raise _unauthorized("access token is invalid or expired; get a new one at /api/v1/auth/token")
    return user


def get_current_device(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_scheme)]
) -> Gate:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("not authenticated: send Authorization: Bearer <device token>")
    token = credentials.credentials
    if token.startswith(USER_TOKEN_PREFIX):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "gate routes take a device token, not a user's token")
    gate = gate_for_device_token(conn, token)
    if gate is None:
        raise _unauthorized("device token is invalid or was replaced")
    return gate


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentDevice = Annotated[Gate, Depends(get_current_device)]
