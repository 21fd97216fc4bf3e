"""Admission control at the HTTP edge: a bounded number of requests run at once, a bounded number wait
a short while for a place, and the rest are answered 503 with `Retry-After` before they reach the app.
While the process's event loop runs late (`LoopLag`), new requests are refused at once too.

Without it, overload piles requests up behind the database pool until clients time out, having waited
30 s, and whether their case was registered is anyone's guess. A refused request never reached a route,
so it changed nothing; an admitted one is served to its end. Probes and `/metrics` are never refused:
an overloaded replica must still say so. Limits hold per process, like `hub_shared.ratelimit`.

Why the lateness: where the admitted work itself keeps the loop busy (SQLite statements run on the loop's thread,
`hub_shared.loopsqlite`), a free place is always taken again at once, so the places alone admit as much as the loop
can do and leave it no time for anything else. New connections then wait in the kernel's accept queue, where no
budget of ours sees them: at three times the pipeline's rate the queue filled (2,048 connections), the kernel
dropped new ones, and clients waited up to 30 s for an answer. A loop that runs what is due late is a loop with no
time to spare: refusing new work until it catches up keeps connections accepted, and refusals answered, promptly.
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
        self._lag = LoopLag()
        self._late_seconds = settings.http_loop_late_seconds
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
        if self._lag.watch() > self._late_seconds:
            return "loop_late"
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


class LoopLag:
    """How late the running event loop runs what is due: a watch asks to be woken every `interval` and notes how much
    later than asked it was. It watches only while it is asked (`watch`), and stops once nobody asked for
    `idle_after` seconds, so an idle process keeps no timer going."""

    def __init__(self, interval: float = 0.05, idle_after: float = 2.0) -> None:
        self._interval, self._idle_after = interval, idle_after
        self._late = 0.0
        self._asked = 0.0
        self._watching: asyncio.Task | None = None

    def watch(self) -> float:
        """Seconds late at the last wake (0 when the watch has just started)."""
        loop = asyncio.get_running_loop()
        self._asked = loop.time()
        if self._watching is None or self._watching.done():
            self._late = 0.0
            self._watching = loop.create_task(self._watch())
        return self._late

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() - self._asked < self._idle_after:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._late = max(0.0, loop.time() - due)
