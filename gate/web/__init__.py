"""The ranger page, served by the gate itself: ``create_app`` (FastAPI) and ``RangerServer`` (uvicorn thread)."""

from __future__ import annotations

from gate.web.app import create_app
from gate.web.server import RangerServer

__all__ = ["RangerServer", "create_app"]
