"""Prometheus metrics of the server at ``GET /metrics``.

    qaqpa_server_requests_total{method, route, status}   every HTTP request, by route template (not raw path)
    qaqpa_server_request_seconds{method, route}          how long requests took
    qaqpa_server_events_ingested_total{result}           gate events stored (new), already held (duplicate) or
                                                         refused (set aside: a field no event may carry)
    qaqpa_server_sync_pages_total                        sync pages served to gates

Who may read it: a request from this host itself (Prometheus or node exporter next to the server), or one
carrying ``Authorization: Bearer $QAQPA_METRICS_TOKEN`` (a Prometheus elsewhere). A request that came
through a reverse proxy (it carries ``X-Forwarded-For``/``Forwarded``/``X-Real-IP``) is never "this host",
so a proxy on localhost does not make the metrics public. Anyone else gets 403; the metrics name gates
and routes, not visitors.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Mapping

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol import EventBatchResult

METRICS_PATH = "/metrics"
TOKEN_ENV = "QAQPA_METRICS_TOKEN"
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
SYNC_ROUTE = "/api/v1/gate/sync"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServerMetrics:
    """The server's metrics on the app's own registry (several apps in one test process do not share it)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or None
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qaqpa_server_requests", "HTTP requests.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "qaqpa_server_request_seconds",
            "HTTP request duration.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "qaqpa_server_events_ingested", "Gate events by result.", ["result"], registry=self.registry
        )
        self.sync_pages = Counter("qaqpa_server_sync_pages", "Sync pages served to gates.", registry=self.registry)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerMetrics:
        env = os.environ if environ is None else environ
        return cls(token=env.get(TOKEN_ENV))

    def ingested(self, result: EventBatchResult) -> None:
        """Count one ingested batch (called by ``POST /gate/events``)."""
        self.events.labels("new").inc(len(result.new))
        self.events.labels("duplicate").inc(len(result.duplicates))
        self.events.labels("refused").inc(len(result.refused))

    def allowed(self, request: Request) -> bool:
        """Whether ``request`` may read the metrics (see the module's docstring)."""
        if self.token is not None:
            given = request.headers.get("authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return True
        proxied = any(name in request.headers for name in PROXY_HEADERS)
        host = request.client.host if request.client is not None else ""
        return not proxied and host in LOCAL_HOSTS


def _route_template(scope: Scope) -> str:
    """``/api/v1/permits/{permit_id}`` for ``/api/v1/permits/abc``: the label is the template, never the raw
    path (unmatched paths would grow the label set without bound). An included router's route knows only its
    own part of the template; the prefix is what the request path has before that part."""
    template = getattr(scope.get("route"), "path_format", None)
    if not isinstance(template, str) or not template:
        return "unmatched"
    try:
        concrete = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    path = str(scope["path"])
    prefix = path[: len(path) - len(concrete)] if path.endswith(concrete) else ""
    return prefix + template


class _RequestMetrics:
    """ASGI middleware: count and time each HTTP request by its route template once routing has run."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is a server error

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = _route_template(scope)
            method = str(scope["method"])
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            if template == SYNC_ROUTE and status == 200:
                self.metrics.sync_pages.inc()


def install_metrics(app: FastAPI, metrics: ServerMetrics | None = None) -> ServerMetrics:
    """Count the app's requests and serve ``GET /metrics``; the metrics are at ``app.state.metrics``."""
    metrics = metrics or ServerMetrics.from_env()
    app.state.metrics = metrics

    @app.get(METRICS_PATH, include_in_schema=False)
    def read_metrics(request: Request) -> Response:
        if not metrics.allowed(request):
            # no credential at all is 401, like every other guarded route; a wrong one is 403
            credential = "authorization" in request.headers
            return Response(
                "metrics are for this host or a bearer of QAQPA_METRICS_TOKEN\n",
                status_code=403 if credential else 401,
                media_type="text/plain",
                headers={} if credential else {"WWW-Authenticate": "Bearer"},
            )
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_RequestMetrics, metrics=metrics)
    return metrics
