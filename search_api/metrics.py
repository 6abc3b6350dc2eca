"""`GET /metrics` in Prometheus text format: requests and latency per route, plus the engine's own metrics.

Requests are labelled by route template (`/documents/{doc_id:path}`), never the raw path, so ids cannot blow up
the number of series. The middleware sits outside the API key and size guards, so refused requests (401, 413) are
counted too, under the label `unmatched` like unknown paths: they never reached a route. `/metrics` itself needs
the key like every path but `/health` (Prometheus: `authorization: {credentials: <key>}` in the scrape config).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from search_api.deps import MetricsDep
from search_api.guards import ASGIApp, Message, Receive, Scope, Send
from search_api.request_context import request_id
from semsearch.metrics import BUCKETS, EngineMetrics

router = APIRouter(tags=["health"])

#: One line per HTTP request (uvicorn's own access log is off: it knows neither the request id nor the route).
access_log = logging.getLogger("search_api.access")

#: The route label of requests no route answered: unknown paths, and requests the guards refused (401, 413).
UNMATCHED = "unmatched"


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    latency: Histogram

    @classmethod
    def register(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            requests=Counter(
                "semsearch_http_requests",
                "HTTP requests by method, route template and status code.",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "semsearch_http_request_duration_seconds",
                "Time from request to the end of the response, by method and route template.",
                ["method", "route"],
                registry=registry,
                buckets=BUCKETS,
            ),
        )


class RequestMetrics:
    """ASGI middleware: one count and one latency observation per HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app fails before starting a response

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            # The router leaves the route it picked in the scope (a method mismatch still names its route).
            route = getattr(scope.get("route"), "path", UNMATCHED)
            seconds = time.perf_counter() - started
            self.metrics.latency.labels(scope["method"], route).observe(seconds)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            _log_access(scope, route, status, seconds)


def _log_access(scope: Scope, route: str, status: int, seconds: float) -> None:
    """`<id> GET /search 200 12.3 ms route=/search`; in JSON each part is its own field. The id comes from the
    RequestContext middleware outside this one."""
    rid, method, path = request_id(), scope["method"], scope["path"]
    millis = round(seconds * 1000, 1)
    access_log.info(
        "%s %s %s %d %.1f ms route=%s",
        rid,
        method,
        path,
        status,
        millis,
        route,
        extra={"method": method, "path": path, "route": route, "status": status, "duration_ms": millis},
    )


def install_metrics(app: FastAPI) -> EngineMetrics:
    """Give the app its own registry, the /metrics route and the request middleware (call after the guards, so the
    middleware is outermost)."""
    metrics = EngineMetrics()
    app.state.metrics = metrics
    app.include_router(router)
    app.add_middleware(RequestMetrics, metrics=HttpMetrics.register(metrics.registry))
    return metrics


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus text format: HTTP requests and latency per route, embed and Milvus time, ingest counters."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
