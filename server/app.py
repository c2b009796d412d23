"""``create_app(settings)``: migrate the database, load the signing key, mount the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from protocol import EventBatch
from server.api import api_router
from server.api.deps import document_errors
from server.api.schemas import ErrorPublic
from server.config import Settings
from server.db import make_engine, upgrade
from server.hardening import install_hardening
from server.limits import BodySizeLimit
from server.metrics import install_metrics
from server.signing import load_or_create_key, publish_key
from server.web import mount_web

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    """The server app on ``settings``; the database is upgraded and the signing key published first."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    key = load_or_create_key(settings.data_dir)
    with engine.begin() as conn:
        publish_key(conn, key)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Qaqpa server", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.signing_key = key
    app.include_router(api_router, prefix=API_PREFIX)
    mount_web(app)  # pages, /static, and ServerError answers: JSON for the API, pages in their language
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_metrics(app)  # GET /metrics (this host or $QAQPA_METRICS_TOKEN) and request counts
    install_hardening(app)  # security headers on every response; 503 + Retry-After while the database is down
    if settings.trusted_proxies:
        # outermost, so rate limits, metrics and cookies all see the client and scheme the proxy saw
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))

    # /gate/events reads its body itself (orjson, for speed); publish the schema it takes all the same
    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (EventBatch, ErrorPublic):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
