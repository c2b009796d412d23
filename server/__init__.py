"""The central Qaqpa server: FastAPI over SQLAlchemy Core, SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from server.app import create_app
from server.config import Settings
from server.errors import (
    AccessDenied,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    ServerError,
)

__all__ = [
    "AccessDenied",
    "ConfigError",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "ServerError",
    "Settings",
    "create_app",
]
