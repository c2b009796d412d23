"""Server ingest: gate events in batches of 500 vs. one event per request, on SQLite or PostgreSQL.

Starts a real ``qaqpa-server serve`` (uvicorn) in a subprocess on a free port with a temporary data
directory, creates an admin through the CLI and a park, gate and device token through the API, then
uploads events over HTTP the way gates do. Target: ``events_per_s`` ≥ 10,000 on both databases.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite", help="server database")
    parser.add_argument("--events", type=int, default=50_000, help="events uploaded in batches")
    parser.add_argument("--batch", type=int, default=500, help="events per batch (at most 1000)")
    parser.add_argument("--baseline-events", type=int, default=1_000, help="events uploaded one per request")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _database(kind: str, data_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'qaqpa.db'}"
        return
    name = f"qaqpa_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _server(db_url: str, data_dir: Path) -> Iterator[str]:
    env = {**os.environ, "QAQPA_DATA_DIR": str(data_dir)}
    cli = [sys.executable, "-m", "server.cli"]
    subprocess.run(
        [*cli, "user", "add", "bench", "--role", "admin", "--password-stdin", "--db", db_url],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [*cli, "serve", "--db", db_url, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"qaqpa-server exited with {process.returncode} before answering")
            try:
                httpx.get(f"{base}/api/v1/keys", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _event(n: int) -> dict[str, Any]:
    millis = int(time.time() * 1000)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    granted = n % 10 != 0
    return {
        "id": str(uuid.UUID(int=value)),
        "occurred_at": millis,
        "direction": "entry" if n % 2 else "exit",
        "credential": "permit",
        "reason": "granted" if granted else "expired",
        "granted": granted,
        "people": 2 if granted else 0,
    }


def _device_client(base: str) -> httpx.Client:
    token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    httpx.post(f"{base}/api/v1/parks", json={"slug": "bench", "name": "Bench"}, headers=admin).raise_for_status()
    gate = {"slug": "g1", "name": "Gate 1", "direction": "entry"}
    httpx.post(f"{base}/api/v1/parks/bench/gates", json=gate, headers=admin).raise_for_status()
    device = httpx.post(f"{base}/api/v1/parks/bench/gates/g1/device", headers=admin).json()["device_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {device}"}, timeout=60)


def _upload(client: httpx.Client, events: list[dict[str, Any]], batch: int) -> float:
    """Seconds to upload ``events`` in batches of ``batch``; checks every event was stored as new."""
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        response = client.post("/api/v1/gate/events", json={"events": chunk})
        response.raise_for_status()
        if len(response.json()["new"]) != len(chunk):
            raise RuntimeError("the server reported duplicates for fresh events")
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="qaqpa-bench-") as tmp:
        data_dir = Path(tmp)
        with (
            _database(args.db, data_dir) as db_url,
            _server(db_url, data_dir) as base,
            _device_client(base) as client,
        ):
            _upload(client, [_event(n) for n in range(args.batch)], args.batch)  # warm-up
            events = [_event(n) for n in range(args.events)]
            batched = _upload(client, events, args.batch)
            single = [_event(n) for n in range(args.baseline_events)]
            baseline = _upload(client, single, 1)
    events_per_s = args.events / batched
    baseline_per_s = args.baseline_events / baseline
    return {
        "events_per_s": events_per_s,
        "baseline_events_per_s": baseline_per_s,
        "ratio": events_per_s / baseline_per_s,
        "events": float(args.events),
        "batch": float(args.batch),
    }
