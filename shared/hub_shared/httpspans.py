"""A server span per HTTP request, child of the caller's `traceparent`, named by the route's template.

OpenTelemetry's ASGI instrumentation did this before and cost five times the framework's own work on every request
(measured on a bare route: request and response headers copied into attributes, URLs parsed and sanitised, two
duration histograms). This middleware makes the same span from what the hub's traces use: the route, the method,
the status and the error type. It records no client address, no query string and no header, so nothing a caller
typed becomes an attribute.
"""

import re

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PROPAGATED = frozenset({b"traceparent", b"tracestate"})


class ServerSpans:
    """ASGI middleware: a SERVER span per request, except for paths matching one of `untraced` (regexes searched in
    the path, e.g. `health/.*`)."""

    def __init__(self, app: ASGIApp, untraced: list[str], tracer_provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self._untraced = re.compile("|".join(f"(?:{pattern})" for pattern in untraced)) if untraced else None
        self._tracer = trace.get_tracer("hub.http", tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._untraced is not None and self._untraced.search(scope["path"]):
            with suppress_instrumentation():  # nor the statements it runs: an anonymous visit leaves no span at all
                await self.app(scope, receive, send)
            return
        carrier = {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in _PROPAGATED}
        method = scope["method"]
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self._tracer.start_as_current_span(method, context=propagate.extract(carrier) if carrier else None, kind=SpanKind.SERVER,
                                                record_exception=False, set_status_on_exception=False) as span:
            try:
                await self.app(scope, receive, sending)
            except Exception as failure:
                span.set_status(Status(StatusCode.ERROR, type(failure).__name__))  # the type only: a message may quote input
                span.set_attribute("error.type", type(failure).__qualname__)
                raise
            finally:
                span.set_attribute("http.request.method", method)
                if (route := getattr(scope.get("route"), "path", None)) is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
