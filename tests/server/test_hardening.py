"""What issue 17 found: a gate's text breaking the dashboard, pages without a security policy, private files
others could read, acknowledged batches a power cut could roll back, and a 500 with a traceback while the
database was down.

Each test here failed before its fix. The real browser's side (the charts drawn with such text in the data,
no policy violation on any page) is in ``tests/browser``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from server import Settings, create_app
from server.accounts import Role
from server.db import make_engine
from server.hardening import is_database_down
from server.signing import KEY_FILE
from server.web.pages import json_script
from tests.server.conftest import PARK, PASSWORD, TestClient, World, login, make_user

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = (REPO / "server" / "templates", REPO / "gate" / "web" / "templates")
# ends the element, opens a comment with a script start tag in it, ends a line in a JavaScript string
HOSTILE = "<!--<script> </script> \u2028 \u2029 & >"
DEVICE = {"Authorization": "Bearer qd_" + "x" * 43}  # a device token the database would have to look up


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the JSON pages embed


def test_embedded_json_has_no_markup_and_reads_back_the_same() -> None:
    value = {"category": HOSTILE, "nested": [HOSTILE, {"k": "</SCRIPT>"}], "kk": "Іле-Алатау"}
    text = str(json_script(value))
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value
    assert "Іле-Алатау" in text  # Kazakh stays readable in the page's source


class _JsonBlocks(HTMLParser):
    """The text of every ``<script type="application/json">`` of a page, by id, as an HTML parser splits it."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("type") == "application/json":
            self._open = values.get("id") or ""
            self.blocks[self._open] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.blocks[self._open] += data


def test_a_gate_name_with_markup_stays_inside_the_dashboards_json(world: World) -> None:
    app: FastAPI = world.client.app  # type: ignore[assignment]
    with app.state.engine.begin() as conn:  # as an older server stored it, before names were checked
        conn.execute(sa.text("UPDATE gates SET name = :name WHERE slug = 'east-in'"), {"name": HOSTILE})
    client = world.client
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    data = {"username": "manager", "password": PASSWORD, "csrf": csrf.group(1), "next": f"/dashboard/{PARK}"}
    page = client.post("/login", data=data)
    assert page.status_code == 200 and page.url.path == f"/dashboard/{PARK}"
    parser = _JsonBlocks()
    parser.feed(page.text)
    assert set(parser.blocks) == {"dashboard-data", "chart-labels"}
    names = [gate["name"] for gate in json.loads(parser.blocks["dashboard-data"])["gates"]]
    assert HOSTILE in names
    assert all("<" not in block for block in parser.blocks.values())


# -- the security policy and headers


def _expect_security_headers(headers: Mapping[str, str], where: str) -> None:
    policy = headers.get("content-security-policy")
    assert policy is not None, where
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'", where
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", where
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'", where
    assert "unsafe" not in policy, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where


def test_every_page_and_answer_carries_the_security_headers(world: World) -> None:
    client = world.client
    permit = world.issue()["id"]
    answers = {
        "/": client.get("/"),
        "/login": client.get("/login"),
        f"/book/{PARK}": client.get(f"/book/{PARK}"),
        "/dashboard (login page, 401)": client.get(f"/dashboard/{PARK}"),
        "/book/nowhere (error page, 404)": client.get("/book/nowhere"),
        "/static/qaqpa.css": client.get("/static/qaqpa.css"),
        "/static/dashboard.js": client.get("/static/dashboard.js"),
        "/api/v1/keys": client.get("/api/v1/keys"),
        "/api/v1/parks (401)": client.get("/api/v1/parks"),
        "/api/v1/permits/…/qr.png": client.get(f"/api/v1/permits/{permit}/qr.png", headers=world.admin),
    }
    for where, response in answers.items():
        assert response.status_code in (200, 401, 404), where
        _expect_security_headers(response.headers, where)


def test_the_api_docs_keep_working_and_stay_unframed(client: TestClient) -> None:
    # Swagger UI loads its bundle from a CDN and starts it inline: a policy of its own, framing still refused
    docs = client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert client.get("/openapi.json").headers["content-security-policy"].startswith("default-src 'self'")


class _InlineCode(HTMLParser):
    """What a strict policy refuses in a template: inline scripts, style elements and attributes, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")


@pytest.mark.parametrize("template", sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html")), ids=str)
def test_no_template_has_inline_script_or_style(template: Path) -> None:
    parser = _InlineCode()
    parser.feed(template.read_text())
    assert parser.found == [], f"{template.relative_to(REPO)}: move these into a static file"


# -- private files


def test_the_data_dir_and_database_are_private_from_the_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = create_app(Settings.for_data_dir(data_dir))
    try:
        with app.state.engine.connect() as conn:  # WAL: the -wal and -shm files exist while connected
            conn.execute(sa.text("SELECT 1"))
            files = sorted(data_dir.iterdir())
            assert {p.name for p in files} >= {KEY_FILE, "qaqpa.db", "qaqpa.db-wal", "qaqpa.db-shm"}
            assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert _mode(data_dir) == 0o700
    finally:
        app.state.engine.dispose()


def test_an_older_versions_readable_data_dir_and_database_are_tightened_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_app(Settings.for_data_dir(data_dir)).state.engine.dispose()
    data_dir.chmod(0o755)
    (data_dir / "qaqpa.db").chmod(0o644)
    (data_dir / "qaqpa.db-wal").touch(mode=0o644)  # as a crash would leave it (a clean close removes it)
    app = create_app(Settings.for_data_dir(data_dir))
    try:
        assert _mode(data_dir) == 0o700
        assert _mode(data_dir / "qaqpa.db") == 0o600
        assert _mode(data_dir / "qaqpa.db-wal") == 0o600
    finally:
        app.state.engine.dispose()


# -- durability and a database that is down


def test_sqlite_commits_wait_for_the_disk(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
        (sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error")), True),
        (sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")), True),
        (sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), True),
        # bugs, not outages: they stay a 500 with the traceback in the log
        (sa.exc.OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x")), False),
        (sa.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
    ],
    ids=["sqlite-locked", "sqlite-io", "pg-refused", "pool-timeout", "sqlite-no-table", "unique"],
)
def test_only_an_unreachable_database_counts_as_down(error: Exception, down: bool) -> None:
    assert is_database_down(error) is down


@pytest.mark.postgres
def test_a_database_that_went_away_answers_503_with_retry_after(tmp_path: Path, pg_database: str) -> None:
    name = f"{pg_database.rsplit('/', 1)[1]}_down"
    admin_dsn = pg_database.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    app = create_app(Settings.for_data_dir(tmp_path / "data", url))
    try:
        make_user(app, "root", Role.ADMIN)
        with TestClient(app, raise_server_exceptions=False) as client:
            admin_headers = login(client, "root")
            assert client.get("/api/v1/parks", headers=admin_headers).status_code == 200
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # ends the server's connections too
            answers = {
                "API": client.get("/api/v1/parks", headers=admin_headers),
                "public API": client.get("/api/v1/keys"),
                "page": client.get("/", headers={"Accept-Language": "ru"}),
                "gate upload": client.post("/api/v1/gate/events", json={"events": []}, headers=DEVICE),
            }
            for where, response in answers.items():
                assert response.status_code == 503, (where, response.text)
                assert int(response.headers["retry-after"]) > 0, where
                assert "Traceback" not in response.text and "psycopg" not in response.text, where
                _expect_security_headers(response.headers, where)
            assert answers["API"].json() == {"detail": "the database is unavailable; try again later"}
            assert answers["page"].headers["content-type"].startswith("text/html")
            assert 'id="error"' in answers["page"].text and '<html lang="ru">' in answers["page"].text
    finally:
        app.state.engine.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
