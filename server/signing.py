"""The permit-signing key: created on first start in the data directory (mode 0600), reused afterwards.

Its public half is recorded in ``signing_keys`` so that several server processes sharing one PostgreSQL
(each with its own key) all publish every key, and gates trust permits issued by any of them.

Processes that start together on one data directory get one key: they take turns under a lock, the first
writes the key to a temporary file, syncs it and renames it into place, so the file is either absent or
whole. A key file that is there but cannot be read stops the start instead of being replaced: it may have
signed permits. Only an empty file is replaced, as no key was ever in it: older versions created the file
first and wrote the key after, and one that stopped in between left it empty.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from protocol import Keyring, KeyringError, PublicKey, SigningKey
from server.db import signing_keys
from server.errors import ConfigError
from server.private_files import locked, private_dir

KEY_FILE = "signing-key.json"
LOCK_FILE = "signing-key.lock"

log = logging.getLogger(__name__)


def load_or_create_key(data_dir: Path) -> SigningKey:
    """The data directory's signing key, generated (and written with mode 0600) if there is none yet."""
    private_dir(data_dir)
    path = data_dir / KEY_FILE
    with locked(data_dir / LOCK_FILE, "creating the signing key"):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = None
        if size:
            return _read_key(path)
        if size == 0:
            log.warning("%s is empty (left by an older version that stopped while creating it): a new key", path)
        key = SigningKey.generate(not_before=int(time.time()))
        _write_key(path, key)
        return key


def _write_key(path: Path, key: SigningKey) -> None:
    record = {
        "kid": key.kid,
        "private": base64.b64encode(key.private_bytes()).decode("ascii"),
        "not_before": key.not_before,
    }
    # mkstemp creates the file with mode 0600; the rename makes it appear whole or not at all
    fd, temporary = tempfile.mkstemp(prefix=f"{KEY_FILE}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigError(f"cannot write the signing key {path}: {err}") from err
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def _read_key(path: Path) -> SigningKey:
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    try:
        record = json.loads(path.read_text())
        return SigningKey.from_private_bytes(
            record["kid"], base64.b64decode(record["private"]), record.get("not_before"), record.get("not_after")
        )
    except (ValueError, KeyError, TypeError, KeyringError) as err:
        raise ConfigError(
            f"cannot read the signing key {path} ({err}); it may have signed permits, so it is not replaced: "
            "restore it from a backup, or move it away to start with a new key"
        ) from err


def publish_key(conn: Connection, key: SigningKey) -> None:
    """Record the key's public half in the database (once; later calls, also at the same moment, change nothing)."""
    public = key.public
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(signing_keys)
    conn.execute(
        insert.values(
            kid=key.kid,
            public_key=public.raw,
            not_before=public.not_before,
            not_after=public.not_after,
            created_at=int(time.time()),
        ).on_conflict_do_nothing(index_elements=[signing_keys.c.kid])
    )


def keyring(conn: Connection) -> Keyring:
    """Every published key: what ``/keys`` serves and gates verify with."""
    rows = conn.execute(
        sa.select(
            signing_keys.c.kid, signing_keys.c.public_key, signing_keys.c.not_before, signing_keys.c.not_after
        ).order_by(signing_keys.c.created_at, signing_keys.c.kid)
    ).all()
    return Keyring([PublicKey(kid, bytes(raw), nbf, exp) for kid, raw, nbf, exp in rows])
