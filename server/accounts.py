"""People who use the server: users with roles, their passwords and their access tokens."""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from protocol.fields import check_line, check_note
from server.db import access_tokens, users
from server.errors import AccessDenied, Conflict, InvalidInput
from server.parks import Park, get_park
from server.security import USER_TOKEN_PREFIX, hash_password, new_token, token_hash, verify_password

MAX_PASSWORD_CHARS = 1024
MAX_USER_NAME_CHARS = 100


class Role(StrEnum):
    ADMIN = "admin"  # everything
    MANAGER = "manager"  # their park: gates, devices, permits, stats
    RANGER = "ranger"  # their park: read, issue at the office, revoke


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    park_id: int | None

    def can_read(self, park: Park) -> bool:
        return self.role is Role.ADMIN or self.park_id == park.id

    def can_manage(self, park: Park) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.MANAGER and self.park_id == park.id)

    def require_read(self, park: Park) -> None:
        if not self.can_read(park):
            raise AccessDenied(f"user {self.name!r} has no access to park {park.slug!r}")

    def require_manage(self, park: Park) -> None:
        if not self.can_manage(park):
            raise AccessDenied(f"user {self.name!r} may not manage park {park.slug!r}")

    def require_manager(self) -> None:
        """AccessDenied unless the role may manage a park (an admin, a manager): checked before which park."""
        if self.role is Role.RANGER:
            raise AccessDenied(f"user {self.name!r} is a ranger; only an admin or the park's manager may do this")

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise AccessDenied("only an admin may do this")


def add_user(conn: Connection, name: str, role: Role, password: str, park_slug: str | None = None) -> User:
    """Add a user; managers and rangers belong to one park, admins to none."""
    name = name.strip()
    if not name or len(name) > MAX_USER_NAME_CHARS:
        raise InvalidInput(f"a user name has 1 to {MAX_USER_NAME_CHARS} characters")
    if not password:
        raise InvalidInput("the password must not be empty")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
    # the login forms take only what these allow (``server.api.schemas.UserName``, ``Password``)
    try:
        check_line(name)
        check_note(password)
    except ValueError as err:
        raise InvalidInput(f"user name or password: {err}") from err
    if role is Role.ADMIN and park_slug is not None:
        raise InvalidInput("an admin belongs to no park; leave out --park")
    if role is not Role.ADMIN and park_slug is None:
        raise InvalidInput(f"a {role.value} belongs to one park; give --park SLUG")
    park_id = None if park_slug is None else get_park(conn, park_slug).id
    if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first() is not None:
        raise Conflict(f"user {name!r} already exists")
    try:
        key = conn.execute(
            users.insert().values(
                name=name,
                role=role.value,
                park_id=park_id,
                password_hash=hash_password(password),
                created_at=int(time.time()),
            )
        ).inserted_primary_key
    except IntegrityError as err:
        raise Conflict(f"user {name!r} already exists") from err
    assert key is not None
    return User(key[0], name, role, park_id)


@functools.cache
def _absent_user_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def authenticate(conn: Connection, name: str, password: str) -> User | None:
    """The user if the password matches, else None."""
    row = conn.execute(
        sa.select(users.c.id, users.c.name, users.c.role, users.c.park_id, users.c.password_hash).where(
            users.c.name == name
        )
    ).first()
    if len(password) > MAX_PASSWORD_CHARS:
        return None
    if row is None:
        # as slow as a wrong password, so the answer's timing does not tell which user names exist
        verify_password(_absent_user_hash(), password)
        return None
    if not verify_password(row.password_hash, password):
        return None
    return User(row.id, row.name, Role(row.role), row.park_id)


def issue_access_token(conn: Connection, user: User, ttl_s: int, now: int | None = None) -> str:
    """An opaque bearer token for ``user``, valid ``ttl_s`` seconds; only its hash is stored."""
    now = int(time.time()) if now is None else now
    token = new_token(USER_TOKEN_PREFIX)
    conn.execute(access_tokens.insert().values(token_hash=token_hash(token), user_id=user.id, expires_at=now + ttl_s))
    # expired tokens are only dead weight; drop this user's on every login
    conn.execute(access_tokens.delete().where(access_tokens.c.user_id == user.id, access_tokens.c.expires_at < now))
    return token


def user_for_token(conn: Connection, token: str, now: int | None = None) -> User | None:
    now = int(time.time()) if now is None else now
    row = conn.execute(
        sa.select(users.c.id, users.c.name, users.c.role, users.c.park_id)
        .join(access_tokens, access_tokens.c.user_id == users.c.id)
        .where(access_tokens.c.token_hash == token_hash(token), access_tokens.c.expires_at > now)
    ).first()
    return None if row is None else User(row.id, row.name, Role(row.role), row.park_id)
