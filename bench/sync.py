"""Sync: a fresh gate pulls 1,000,000 permits from a real server over HTTP, then a 1,000-change delta.

The server is a real ``qaqpa-server serve`` process on SQLite. The million permits are written into its
database in bulk before the gate connects (signing a million tokens would only time Ed25519; the change feed
does not carry tokens); the 1,000 changes of the delta go through the HTTP API (500 revocations, 500 new
permits). The gate side is the gate's own ``SyncClient`` and ``GateStore``; bytes are counted on the wire.

Peer baseline in the same run: the same feed as a plain paginated JSON download — pages of 1,000, no
compression, stdlib ``json``, one INSERT per row.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from gate.config import GateConfig, GateSettings, ServerSettings
from gate.store import GateStore
from gate.sync import SyncClient
from protocol import permit_id_bytes, permit_id_text
from sim.server_proc import ServerApi, ServerProcess

PARK = "bench-park"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--permits", type=int, default=1_000_000, help="permits in the full sync")
    parser.add_argument("--changes", type=int, default=1_000, help="changes in the delta sync")
    parser.add_argument("--lookups", type=int, default=100_000, help="permit lookups timed on the gate")


class _CountingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, counter: list[int]) -> None:
        self._inner, self._counter = inner, counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._counter[0] += len(chunk)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class CountingTransport(httpx.HTTPTransport):
    """Counts response body bytes as they arrive, before any Content-Encoding is undone."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = [0]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _CountingStream(response.stream, self.counter)
        return response


def _seed_permits(db_path: Path, n: int) -> list[str]:
    """Write ``n`` permits of PARK into the server's database, each with its own change number."""
    now = int(time.time())
    ids = [permit_id_text(secrets.token_bytes(10)) for _ in range(n)]
    conn = sqlite3.connect(db_path, timeout=60)
    with conn:
        (park_id,) = conn.execute("SELECT id FROM parks WHERE slug = ?", (PARK,)).fetchone()
        (kid,) = conn.execute("SELECT kid FROM signing_keys LIMIT 1").fetchone()
        first = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM change_seq").fetchone()[0] + 1
        seqs = range(first, first + n)
        conn.executemany("INSERT INTO change_seq (seq, permit_id) VALUES (?, ?)", zip(seqs, ids, strict=True))
        rng = random.Random(1)
        conn.executemany(
            "INSERT INTO permits (id, park_id, valid_from, valid_until, adults, children, exempt, plate,"
            " entries_per_day, category, issued_at, kid, token, revoked, revoked_at, change_seq)"
            " VALUES (?, ?, ?, ?, ?, 0, 0, NULL, 0, 'standard', ?, ?, '', 0, NULL, ?)",
            (
                (pid, park_id, start, start + 86400, rng.randint(1, 5), start - 86400, kid, seq)
                for pid, seq, start in zip(ids, seqs, (now + rng.randrange(0, 180 * 86400) for _ in ids), strict=True)
            ),
        )
    conn.close()
    return ids


def _gate_config(workdir: Path, url: str, token: str) -> GateConfig:
    return GateConfig(
        gate=GateSettings(park=PARK, name="bench", data_dir=workdir),
        server=ServerSettings(url=url, device_token=token),
    )


def _baseline_sync(url: str, token: str, db_path: Path) -> tuple[float, int]:
    """The plain way: uncompressed JSON pages of 1,000, parsed with json, inserted row by row."""
    transport = CountingTransport()
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE permits (id BLOB PRIMARY KEY, valid_from INT, valid_until INT, revoked INT)")
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    start = time.perf_counter()
    with httpx.Client(transport=transport, timeout=60) as client:
        cursor = "0"
        while True:
            page = json.loads(
                client.get(f"{url}/api/v1/gate/sync", params={"cursor": cursor, "limit": 1000}, headers=headers).content
            )
            cols = page["permits"]
            with conn:
                for i in range(len(cols["id"])):
                    conn.execute(
                        "INSERT OR REPLACE INTO permits VALUES (?, ?, ?, ?)",
                        (
                            permit_id_bytes(cols["id"][i]),
                            cols["valid_from"][i],
                            cols["valid_until"][i],
                            cols["revoked"][i],
                        ),
                    )
            if page["complete"]:
                break
            cursor = page["cursor"]
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, transport.counter[0]


def run(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp) / "server") as server:
        api = ServerApi(server.url)
        api.login(server.admin_user, server.admin_password)
        api.create_park(PARK, "Bench park")
        api.create_gate(PARK, "g1", "Gate 1", "entry")
        token = api.device_token(PARK, "g1")
        ids = _seed_permits(server.db_path, args.permits)

        transport = CountingTransport()
        store = GateStore(_gate_config(Path(tmp) / "gate", server.url, token).gate.db_path, durable=False)
        client = SyncClient(_gate_config(Path(tmp) / "gate", server.url, token), store, transport=transport)
        start = time.perf_counter()
        pages, permits = client.pull()
        full_s = time.perf_counter() - start
        full_bytes = transport.counter[0]
        assert permits == args.permits, f"gate received {permits} permits, expected {args.permits}"

        now = int(time.time())
        for permit_id in ids[: args.changes // 2]:
            api.revoke(permit_id)
        for _ in range(args.changes - args.changes // 2):
            api.issue_permit(PARK, now, now + 86400, (2, 0, 0))
        transport.counter[0] = 0
        start = time.perf_counter()
        _, delta = client.pull()
        delta_s = time.perf_counter() - start
        delta_bytes = transport.counter[0]
        assert delta == args.changes, f"delta carried {delta} changes, expected {args.changes}"
        assert store.lookup(permit_id_bytes(ids[0])) is not None

        probes = [permit_id_bytes(random.choice(ids)) for _ in range(args.lookups)]
        lookups = np.empty(len(probes))
        for i, probe in enumerate(probes):
            t0 = time.perf_counter_ns()
            store.lookup(probe)
            lookups[i] = (time.perf_counter_ns() - t0) / 1000
        client.close()
        store.close()

        base_s, base_bytes = _baseline_sync(server.url, token, Path(tmp) / "baseline.db")
        api.close()
    return {
        "permits": float(args.permits),
        "full_sync_s": full_s,
        "full_sync_bytes": float(full_bytes),
        "full_sync_pages": float(pages),
        "delta_changes": float(args.changes),
        "delta_sync_s": delta_s,
        "delta_sync_bytes": float(delta_bytes),
        "lookup_p50_us": float(np.percentile(lookups, 50)),
        "lookup_p99_us": float(np.percentile(lookups, 99)),
        "baseline_full_sync_s": base_s,
        "baseline_full_sync_bytes": float(base_bytes),
        "speedup": base_s / full_s,
    }
