"""A real Qaqpa server for the simulator: a ``qaqpa-server serve`` subprocess and an HTTP client for its API.

The simulator talks to the server only the way the outside world does: the command line to create the
admin user and start serving, and the HTTP API for everything else. The one exception is
``read_server_events``, which reads the server's SQLite file (read-only, after the server stopped)
because the API has no listing of raw events to compare gate and server event by event.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from sim.errors import ServerProcessError

API = "/api/v1"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command() -> list[str]:
    """``qaqpa-server`` from this interpreter's environment; ``python -m server.cli`` when not installed."""
    script = Path(sys.executable).with_name("qaqpa-server")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "server.cli"]


class ServerProcess:
    """``qaqpa-server serve`` on a SQLite file in ``data_dir``, with an admin user; a context manager."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port or free_port(host)
        self.admin_user = "admin"
        self.admin_password = secrets.token_urlsafe(18)
        self.db_path = self.data_dir / "qaqpa.db"
        self.log_path = self.data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "QAQPA_DATA_DIR": str(self.data_dir)}

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        """Create the admin user, start serving, and return once ``/api/v1/keys`` answers."""
        if self._process is not None:
            raise ServerProcessError("the server is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        add_user = [*server_command(), "user", "add", self.admin_user, "--role", "admin", "--password-stdin"]
        done = subprocess.run(
            [*add_user, "--db", self.db_url],
            input=(self.admin_password + "\n").encode(),
            env=self._env(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise ServerProcessError(f"qaqpa-server user add failed: {done.stderr.decode(errors='replace').strip()}")
        self._log = self.log_path.open("ab")
        serve = [*server_command(), "serve", "--db", self.db_url, "--host", self.host, "--port", str(self.port)]
        self._process = subprocess.Popen(
            [*serve, "--log-level", "warning"], env=self._env(), stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    self._close_log()
                    raise ServerProcessError(f"the server exited with {self._process.returncode}; see {self.log_path}")
                try:
                    if client.get(f"{API}/keys").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass  # not listening yet: that is what we wait for
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerProcessError(f"the server did not answer within {timeout_s:.0f} s; see {self.log_path}")
                time.sleep(0.1)

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not go; idempotent."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> ServerProcess:
        return self.start() if self._process is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class IssuedPermit:
    id: str
    token: str
    park: str
    valid_from: int
    valid_until: int
    party: tuple[int, int, int]
    entries_per_day: int
    category: str

    @property
    def people(self) -> int:
        return sum(self.party)


class ServerApi:
    """The server's HTTP API as a manager or admin uses it."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=30.0)
        self._token: str | None = None

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            response = self.client.request(method, f"{API}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as err:
            raise ServerProcessError(f"{method} {path}: {err}") from err
        if response.status_code >= 400:
            raise ServerProcessError(f"{method} {path} → {response.status_code}: {response.text[:500]}")
        return response.json()

    def login(self, username: str, password: str) -> None:
        body = self._call("POST", "/auth/token", data={"username": username, "password": password})
        self._token = str(body["access_token"])

    def keys(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/keys")
        return result

    def create_park(self, slug: str, name: str, capacity: int = 0, daily_quota: int = 0) -> dict[str, Any]:
        body = {"slug": slug, "name": name, "capacity": capacity, "daily_quota": daily_quota}
        result: dict[str, Any] = self._call("POST", "/parks", json=body)
        return result

    def create_gate(self, park: str, slug: str, name: str, direction: str) -> dict[str, Any]:
        body = {"slug": slug, "name": name, "direction": direction}
        result: dict[str, Any] = self._call("POST", f"/parks/{park}/gates", json=body)
        return result

    def device_token(self, park: str, gate: str) -> str:
        """A new device token for the gate (the server shows it once)."""
        return str(self._call("POST", f"/parks/{park}/gates/{gate}/device")["device_token"])

    def issue_permit(
        self,
        park: str,
        valid_from: int,
        valid_until: int,
        party: tuple[int, int, int],
        entries_per_day: int = 0,
        category: str = "standard",
        plate: str | None = None,
    ) -> IssuedPermit:
        body: dict[str, Any] = {
            "park": park,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "party": list(party),
            "entries_per_day": entries_per_day,
            "category": category,
        }
        if plate is not None:
            body["plate"] = plate
        answer = self._call("POST", "/permits", json=body)
        return IssuedPermit(
            id=str(answer["id"]),
            token=str(answer["token"]),
            park=park,
            valid_from=valid_from,
            valid_until=valid_until,
            party=party,
            entries_per_day=entries_per_day,
            category=category,
        )

    def revoke(self, permit_id: str) -> None:
        self._call("POST", f"/permits/{permit_id}/revoke")

    def register_card(
        self,
        uid: str,
        holder: str,
        role: str,
        parks: list[str],
        valid_from: int | None = None,
        valid_until: int | None = None,
    ) -> dict[str, Any]:
        """Register an RFID card (``uid`` as the reader reports it) for ``parks``; None validity: no limit."""
        body: dict[str, Any] = {"uid": uid, "holder": holder, "role": role, "parks": parks}
        if valid_from is not None:
            body["valid_from"] = valid_from
        if valid_until is not None:
            body["valid_until"] = valid_until
        result: dict[str, Any] = self._call("POST", "/cards", json=body)
        return result

    def register_vehicle_pass(self, plate: str, holder: str, vehicle_class: str, parks: list[str]) -> dict[str, Any]:
        """An annual vehicle pass for ``plate`` in ``parks``, with no end date."""
        body = {"plate": plate, "holder": holder, "vehicle_class": vehicle_class, "parks": parks}
        result: dict[str, Any] = self._call("POST", "/vehicle-passes", json=body)
        return result

    def deactivate_card(self, uid: str) -> dict[str, Any]:
        """Deactivate a card in every park it opens; gates refuse it once they synced the change."""
        result: dict[str, Any] = self._call("POST", f"/cards/{uid}/deactivate")
        return result

    def occupancy(self, park: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/parks/{park}/occupancy")
        return result

    def stats(self, park: str, start: int, end: int, bucket: str = "hour") -> dict[str, Any]:
        params: dict[str, str | int] = {"from": start, "to": end, "bucket": bucket}
        result: dict[str, Any] = self._call("GET", f"/parks/{park}/stats", params=params)
        return result


@dataclass(frozen=True)
class ServerEvent:
    id: str
    gate: str
    direction: str
    reason: str
    granted: bool
    people: int
    permit_id: str | None
    card_uid: str | None = None


def read_server_events(db_path: Path) -> list[ServerEvent]:
    """Every event the server holds, read straight from its SQLite file (read-only; stop the server first)."""
    if not db_path.exists():
        raise ServerProcessError(f"no server database at {db_path}")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT e.id, g.slug, e.direction, e.reason, e.granted, e.people, e.permit_id, e.card_uid"
                " FROM events e JOIN gates g ON g.id = e.gate_id ORDER BY e.id"
            ).fetchall()
    except sqlite3.Error as err:
        raise ServerProcessError(f"cannot read the server's events from {db_path}: {err}") from err
    return [ServerEvent(str(r[0]), str(r[1]), str(r[2]), str(r[3]), bool(r[4]), int(r[5]), r[6], r[7]) for r in rows]
