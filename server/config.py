"""One settings class for every ``qaqpa-server`` command and the app."""

from __future__ import annotations

import ipaddress
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
    # logging in (page and token API): attempts per client address, and wrong passwords per user name, of
    # which one address may spend half (server.login_limit)
    login_rate_address: RateLimit = field(default_factory=lambda: RateLimit(per_minute=10, burst=20))
    login_rate_user: RateLimit = field(default_factory=lambda: RateLimit(per_minute=5, burst=10))
    # reverse proxies whose X-Forwarded-For/-Proto are believed ($QAQPA_TRUSTED_PROXIES or serve's
    # --trusted-proxies: addresses or networks, comma-separated); none by default, so a client cannot claim
    # another address to slip past rate limits. Behind a proxy that terminates TLS, -Proto makes the
    # session cookie Secure.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, db: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``$QAQPA_DATA_DIR`` (else ``./var``), ``$QAQPA_MODE`` and the database URL: ``db``
        (a command's ``--db``), else ``$QAQPA_DATABASE_URL``, else the SQLite file in the data directory."""
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
            database_url=db or env.get("QAQPA_DATABASE_URL") or default_database_url(data_dir),
            mode=mode,
            tariff=_tariff_from_env(env),
            trusted_proxies=parse_trusted_proxies(env.get("QAQPA_TRUSTED_PROXIES", "")),
        )

    @classmethod
    def for_data_dir(cls, data_dir: Path, db: str | None = None) -> Settings:
        """Development settings on an explicit data directory (tests, the simulator, benches)."""
        return cls(data_dir=data_dir, database_url=db or default_database_url(data_dir))


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir.resolve() / 'qaqpa.db'}"


def parse_trusted_proxies(text: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks (``10.0.0.1, 10.1.0.0/16``) of trusted proxies; ConfigError if bad."""
    proxies = tuple(item.strip() for item in text.split(",") if item.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError as err:
            raise ConfigError(f"trusted proxy {proxy!r} is not an IP address or network") from err
    return proxies


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
