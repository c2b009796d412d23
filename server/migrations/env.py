"""Alembic environment: runs on the engine ``server.db.upgrade`` hands over (never from alembic.ini)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from server.db import make_engine, metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # several server processes may start together on one PostgreSQL; one migrates, the others wait
        connection.execute(sa.text("SELECT pg_advisory_lock(715031)"))
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_unlock(715031)"))
            connection.commit()
