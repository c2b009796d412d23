"""HTTP API under /api/v1: one routes module per resource, dependencies in ``deps``."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import (
    auth,
    cards,
    dashboard,
    gate,
    keys,
    parks,
    permits,
    public,
    slots,
    stats,
    vehicle_passes,
    zones,
)

api_router = APIRouter()
for _module in (auth, keys, parks, slots, zones, permits, cards, vehicle_passes, gate, stats, dashboard, public):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
