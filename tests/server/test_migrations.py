"""The Alembic revisions build exactly the schema ``server.db`` describes; upgrading twice, or from several
processes at once, is harmless."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import make_engine, metadata, upgrade
from tests.server.racing import race

RACE_TRIALS = 10


def test_migrations_match_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def _upgrade(url: str) -> str:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return "upgraded"


def test_processes_upgrading_one_new_sqlite_file_together_all_succeed(tmp_path: Path) -> None:
    # before a lock kept them apart, half of such trials crashed with "table already exists"
    for trial in range(RACE_TRIALS):
        url = f"sqlite:///{tmp_path / f'trial-{trial}.db'}"
        assert race(_upgrade, [(url,)] * 3) == ["ok upgraded"] * 3, f"trial {trial}"
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        finally:
            engine.dispose()
