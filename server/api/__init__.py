"""HTTP API under /api/v1: one routes module per resource, dependencies in ``deps``."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import auth, cards, gate, keys, parks, permits, stats

api_router = APIRouter()
for _module in (auth, keys, parks, permits, cards, gate, stats):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
