"""Admission control at the HTTP edge: a bounded number of requests run at once, a bounded number wait
a short while for a place, and the rest are answered 503 with `Retry-After` before they reach the app.

Without it, overload piles requests up behind the database pool until clients time out, having waited
30 s, and whether their case was registered is anyone's guess. A refused request never reached a route,
so it changed nothing; an admitted one is served to its end. Probes and `/metrics` are never refused:
an overloaded replica must still say so. Limits hold per process, like `hub_shared.ratelimit`.
"""

import asyncio
import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from hub_shared.metrics import ServiceMetrics
from hub_shared.settings import HubSettings

NEVER_SHED = re.compile(r"/health/.*|/metrics")


class AdmissionControl:
    """Pure ASGI middleware: no task or body buffering per request, so a refusal costs next to nothing."""

    def __init__(self, app: ASGIApp, settings: HubSettings, metrics: ServiceMetrics, refusal: dict) -> None:
        self.app = app
        self._places = asyncio.Semaphore(settings.http_max_in_flight)
        self._max_queued = settings.http_max_queued
        self._queue_seconds = settings.http_queue_seconds
        self._metrics = metrics
        self._queued = 0
        self._body = json.dumps(refusal, ensure_ascii=False).encode()
        self._headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self._body)).encode()),
                         (b"retry-after", str(settings.http_retry_after_seconds).encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or NEVER_SHED.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return
        refused = await self._admit()
        if refused:
            self._metrics.http_shed[refused].inc()
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": self._body})
            return
        self._metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self._metrics.http_in_flight.dec()
            self._places.release()

    async def _admit(self) -> str | None:
        """Take a place, waiting at most the queue budget; else say why not (a `http_shed` reason)."""
        if not self._places.locked():
            await self._places.acquire()  # free: returns at once
            return None
        if self._queued >= self._max_queued:
            return "queue_full"
        self._queued += 1
        self._metrics.http_queued.inc()
        try:
            async with asyncio.timeout(self._queue_seconds):
                await self._places.acquire()
            return None
        except TimeoutError:
            return "queue_timeout"
        finally:
            self._queued -= 1
            self._metrics.http_queued.dec()
