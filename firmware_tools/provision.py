"""Provision a gate: register it on the server, pin the server's permit keys, write its ``gate.toml``.

    admin login ──▶ park exists? ──▶ gate exists? (else create it) ──▶ GET /keys ──▶ device token
                └─▶ keys pinned in the gate's store (trusted before its first sync) ──▶ gate.toml (0600)

The device token is shown by the server only once and a new one invalidates the old: so an existing
``gate.toml`` is never overwritten without ``force``, and that is checked before a token is asked for.
The file is written with mode 0600 from the start (never world-readable, not even for a moment) and put in
place atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gate.config import READER_PROTOCOLS, load_config
from gate.errors import GateError
from gate.store import GateStore
from protocol import Direction, Keyring, KeyringError, SyncPage

API = "/api/v1"
FIRST_CURSOR = "0"  # gate.sync's first cursor: pinning keys must not skip any of the feed
CONFIG_MODE = 0o600  # the file holds the device token


class ProvisionError(Exception):
    """Provisioning could not finish; the message says what to do. Nothing is half-written."""


@dataclass(frozen=True)
class ReaderSpec:
    """A card reader to put in gate.toml: ``NAME,PROTOCOL,PORT`` on the command line."""

    name: str
    protocol: str
    port: str

    @classmethod
    def parse(cls, text: str) -> ReaderSpec:
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 3 or not all(parts):
            raise ProvisionError(f"a reader is NAME,PROTOCOL,PORT (e.g. door,em4100,/dev/qaqpa-rfid0), not {text!r}")
        name, protocol, port = parts
        if protocol not in READER_PROTOCOLS:
            raise ProvisionError(f"reader protocol must be one of {', '.join(READER_PROTOCOLS)}, not {protocol!r}")
        return cls(name, protocol, port)


@dataclass(frozen=True)
class Provisioned:
    config_path: Path
    data_dir: Path
    gate_created: bool  # False: the gate was already on the server
    direction: Direction  # the gate's direction as the server has it
    kids: tuple[str, ...]  # the permit keys pinned in the store


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # a JSON string with \uXXXX escapes is a valid TOML basic string
        return json.dumps(value)
    raise ProvisionError(f"cannot write {value!r} to gate.toml")  # a programming error in this module


def render_toml(sections: Mapping[str, Mapping[str, object]], readers: Sequence[Mapping[str, object]]) -> str:
    """TOML text for gate.toml's tables and its ``[[readers]]`` array (flat values only)."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    for reader in readers:
        lines.append("[[readers]]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in reader.items())
        lines.append("")
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, CONFIG_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, CONFIG_MODE)  # O_CREAT's mode is ignored if the file was there already
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise ProvisionError(f"cannot write {path}: {err.strerror or err}") from err


def pin_keys(db_path: Path, jwks: Mapping[str, Any]) -> tuple[str, ...]:
    """Trust the keys of a JWK Set in the gate's store before its first sync; returns their kids.

    Written as a sync page carrying only keys, at the store's own cursor (the first one on a fresh gate), so
    the first sync still fetches the whole feed.
    """
    try:
        published = Keyring.from_jwks(dict(jwks)).keys()
        kids = tuple(key.kid for key in published)
    except KeyringError as err:
        raise ProvisionError(f"the server's /keys is not a usable JWK Set: {err}") from err
    if not kids:
        raise ProvisionError("the server publishes no permit keys (GET /api/v1/keys is empty)")
    try:
        with GateStore(db_path) as store:
            cursor = store.sync_state().cursor or FIRST_CURSOR
            store.apply_sync_page(SyncPage(cursor=cursor, complete=False, keys=list(jwks["keys"])))
    except GateError as err:
        raise ProvisionError(f"cannot pin the keys in {db_path}: {err}") from err
    return kids


class _Api:
    """The few server calls provisioning makes, as the admin or park manager."""

    def __init__(self, client: httpx.Client, server: str) -> None:
        self.client = client
        self.server = server
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, f"{API}{path}", headers=self.headers, **kwargs)
        except httpx.HTTPError as err:
            raise ProvisionError(
                f"cannot reach {self.server} ({type(err).__name__}: {err}); check the URL and the gate's network"
            ) from err
        if response.status_code not in expect and response.status_code not in (401, 403, 404):
            raise ProvisionError(f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    def login(self, user: str, password: str) -> None:
        answer = self.call("POST", "/auth/token", data={"username": user, "password": password})
        if answer.status_code != 200:
            raise ProvisionError(f"login as {user!r} refused (HTTP {answer.status_code}): check the user and password")
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _refused(response: httpx.Response, what: str, user: str) -> ProvisionError:
    if response.status_code in (401, 403):
        return ProvisionError(
            f"{user!r} may not {what} (HTTP {response.status_code}): log in as an admin or this park's manager"
        )
    return ProvisionError(f"cannot {what}: HTTP {response.status_code}: {response.text[:300]}")


def provision(
    server: str,
    park: str,
    gate: str,
    *,
    user: str,
    password: str,
    out: Path,
    data_dir: Path | None = None,
    direction: Direction = Direction.ENTRY,
    camera: tuple[str, str] = ("opencv", "0"),
    readers: Sequence[ReaderSpec] = (),
    metrics_port: int | None = None,
    force: bool = False,
    client: httpx.Client | None = None,
) -> Provisioned:
    """Register gate ``gate`` of ``park`` on ``server`` and write its ``gate.toml`` at ``out``.

    ``data_dir`` (default: ``data`` beside ``out``) holds the gate's SQLite store, where the server's keys
    are pinned. An existing gate keeps its direction on the server; a new one is created with ``direction``.
    ``camera`` is ``(source, uri)`` as in gate.toml's ``[camera]``. Raises ProvisionError; a failure before
    the token was issued leaves no file behind.
    """
    server = server.rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise ProvisionError(f"--server must be an http(s) URL, not {server!r}")
    if out.exists() and not force:
        raise ProvisionError(
            f"{out} exists; provisioning again issues a new device token and the old one stops working:"
            " pass --force to do it"
        )
    data_dir = (data_dir or out.parent / "data").resolve()
    http = client or httpx.Client(base_url=server, timeout=15.0)
    try:
        api = _Api(http, server)
        api.login(user, password)
        found = api.call("GET", f"/parks/{park}")
        if found.status_code == 404:
            raise ProvisionError(f"park {park!r} is not on the server: an admin creates it first (POST /parks)")
        if found.status_code != 200:
            raise _refused(found, f"see park {park!r}", user)
        gates = api.call("GET", f"/parks/{park}/gates")
        if gates.status_code != 200:
            raise _refused(gates, f"list the gates of {park!r}", user)
        existing = {entry["slug"]: entry for entry in gates.json()}
        created = gate not in existing
        if created:
            body = {"slug": gate, "name": gate, "direction": direction.value}
            answer = api.call("POST", f"/parks/{park}/gates", expect=(201,), json=body)
            if answer.status_code != 201:
                raise _refused(answer, f"create gate {gate!r}", user)
        else:
            direction = Direction(existing[gate]["direction"])
        keys = api.call("GET", "/keys")
        if keys.status_code != 200:
            raise _refused(keys, "read the permit keys", user)
        jwks: dict[str, Any] = keys.json()
        kids = pin_keys(data_dir / "gate.db", jwks)
        issued = api.call("POST", f"/parks/{park}/gates/{gate}/device", expect=(201,))
        if issued.status_code != 201:
            raise _refused(issued, f"issue the device token of {gate!r}", user)
        token = str(issued.json()["device_token"])
    finally:
        if client is None:
            http.close()
    sections: dict[str, dict[str, object]] = {
        "gate": {"park": park, "name": gate, "direction": direction.value, "data_dir": str(data_dir)},
        "server": {"url": server, "device_token": token},
        "camera": {"source": camera[0], "uri": camera[1]},
        "relay": {"pin": 17, "pulse_s": 1.0},
        "lights": {"green": 27, "red": 22},
    }
    if metrics_port is not None:
        sections["metrics"] = {"port": metrics_port}
    reader_tables = [{"name": r.name, "protocol": r.protocol, "port": r.port} for r in readers]
    header = (
        f"# gate.toml for {park}/{gate}, written by qaqpa-tools provision at "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}.\n"
        "# It holds the gate's device token: keep it mode 0600, owned by the gate's user.\n\n"
    )
    text = header + render_toml(sections, reader_tables)
    write_private(out, text)
    try:
        load_config(out)  # what the gate will read: a file it refuses is a bug here, said now
    except GateError as err:
        raise ProvisionError(f"wrote {out} but the gate cannot use it: {err}") from err
    return Provisioned(out, data_dir, created, direction, kids)
