"""The permit-signing key: created on first start in the data directory (mode 0600), reused afterwards.

Its public half is recorded in ``signing_keys`` so that several server processes sharing one PostgreSQL
(each with its own key) all publish every key, and gates trust permits issued by any of them.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from protocol import Keyring, KeyringError, PublicKey, SigningKey
from server.db import signing_keys
from server.errors import ConfigError

KEY_FILE = "signing-key.json"


def load_or_create_key(data_dir: Path) -> SigningKey:
    """The data directory's signing key, generated (and written with mode 0600) if there is none yet."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together must not both write a key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    key = SigningKey.generate(not_before=int(time.time()))
    record = {
        "kid": key.kid,
        "private": base64.b64encode(key.private_bytes()).decode("ascii"),
        "not_before": key.not_before,
    }
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle)
    return key


def _read_key(path: Path) -> SigningKey:
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    try:
        record = json.loads(path.read_text())
        return SigningKey.from_private_bytes(
            record["kid"], base64.b64decode(record["private"]), record.get("not_before"), record.get("not_after")
        )
    except (ValueError, KeyError, TypeError, KeyringError) as err:
        raise ConfigError(f"cannot read the signing key {path}: {err}") from err


def publish_key(conn: Connection, key: SigningKey) -> None:
    """Record the key's public half in the database (once; later calls change nothing)."""
    exists = conn.execute(sa.select(signing_keys.c.kid).where(signing_keys.c.kid == key.kid)).first()
    if exists is None:
        public = key.public
        conn.execute(
            signing_keys.insert().values(
                kid=key.kid,
                public_key=public.raw,
                not_before=public.not_before,
                not_after=public.not_after,
                created_at=int(time.time()),
            )
        )


def keyring(conn: Connection) -> Keyring:
    """Every published key: what ``/keys`` serves and gates verify with."""
    rows = conn.execute(
        sa.select(
            signing_keys.c.kid, signing_keys.c.public_key, signing_keys.c.not_before, signing_keys.c.not_after
        ).order_by(signing_keys.c.created_at, signing_keys.c.kid)
    ).all()
    return Keyring([PublicKey(kid, bytes(raw), nbf, exp) for kid, raw, nbf, exp in rows])
