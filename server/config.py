"""One settings class for every ``qaqpa-server`` command and the app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from server.errors import ConfigError
from server.pricing import Tariff
from server.ratelimit import RateLimit

DEFAULT_DATA_DIR = Path("var")
Mode = Literal["development", "production"]


@dataclass(frozen=True)
class Settings:
    """Where the server keeps its data and how it behaves.

    ``data_dir`` holds the SQLite file (unless ``database_url`` points elsewhere) and the permit-signing
    key. The only secret the server has is that key; it is generated per data directory, never shipped
    as a default, and production mode refuses to fall back on the implicit ``./var``.
    """

    data_dir: Path
    database_url: str
    mode: Mode = "development"
    access_token_ttl_s: int = 12 * 3600
    max_body_bytes: int = 2 * 1024 * 1024
    # visit fees (MRP value from $QAQPA_MRP_TENGE, bus fee from $QAQPA_BUS_MRP) and the visitors' rate limit
    tariff: Tariff = field(default_factory=Tariff)
    public_rate: RateLimit = field(default_factory=RateLimit)

    @classmethod
    def from_env(cls, db: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``$QAQPA_DATA_DIR`` (else ``./var``), ``$QAQPA_MODE`` and an optional ``--db`` URL."""
        env = os.environ if environ is None else environ
        mode: Mode
        match env.get("QAQPA_MODE", "development"):
            case "development":
                mode = "development"
            case "production":
                mode = "production"
            case other:
                raise ConfigError(f"QAQPA_MODE must be 'development' or 'production', not {other!r}")
        explicit_dir = env.get("QAQPA_DATA_DIR")
        if mode == "production" and not explicit_dir:
            raise ConfigError("production mode needs QAQPA_DATA_DIR set: it holds the permit-signing key")
        data_dir = Path(explicit_dir) if explicit_dir else DEFAULT_DATA_DIR
        return cls(
            data_dir=data_dir,
            database_url=db or default_database_url(data_dir),
            mode=mode,
            tariff=_tariff_from_env(env),
        )

    @classmethod
    def for_data_dir(cls, data_dir: Path, db: str | None = None) -> Settings:
        """Development settings on an explicit data directory (tests, the simulator, benches)."""
        return cls(data_dir=data_dir, database_url=db or default_database_url(data_dir))


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir.resolve() / 'qaqpa.db'}"


def _tariff_from_env(env: Mapping[str, str]) -> Tariff:
    tariff = Tariff()
    try:
        if "QAQPA_MRP_TENGE" in env:
            tariff = Tariff(Decimal(env["QAQPA_MRP_TENGE"]), tariff.pedestrian_mrp, tariff.vehicle_mrp)
        if "QAQPA_BUS_MRP" in env:
            tariff = tariff.with_bus_mrp(Decimal(env["QAQPA_BUS_MRP"]))
    except InvalidOperation as err:
        raise ConfigError("QAQPA_MRP_TENGE and QAQPA_BUS_MRP must be numbers") from err
    if tariff.mrp_tenge <= 0 or not Decimal(2) <= tariff.vehicle_mrp["bus"] <= Decimal(3):
        raise ConfigError("QAQPA_MRP_TENGE must be positive and QAQPA_BUS_MRP between 2 and 3")
    return tariff
