"""The portal's traces, so that a filing's trace starts where the citizen pressed the button: a server span per page
request (OpenTelemetry's ASGI middleware, as the services' FastAPI instrumentation uses), and a client span per call
to intake, routing or reporting whose `traceparent` makes that service's spans children of the portal's
(`hub_web.upstream`). Spans go where every service's go (`hub_shared.telemetry.setup_tracing`).

The portal is the citizen's edge, so its spans must not become an access log:
- the middleware is shown each request without its visitor: no client address, no header but Host, no query
  string; it never reads a body, so no form field (name, national ID, phone, tracking code) can become an attribute;
- a failure is recorded by its type only (an exception's message may quote what was typed), and raised again
  outside the span;
- a trace context a browser sends is ignored: a trace starts at the portal;
- a visit's rating (`/r/…`) leaves no span at all, as in intake (its time would date the visit), and neither do the
  static files and the health checks.
"""

import re

from fastapi.routing import iter_route_contexts
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.trace import Status, StatusCode
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

UNTRACED = re.compile(r"/(r|static|health)(/|$)")
_ORIGINAL, _FAILED = "hub.traced.original_scope", "hub.traced.failure"


class PortalTracing:
    """ASGI middleware: a server span per page request, made from a copy of the request that names no visitor."""

    def __init__(self, app: ASGIApp, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.app = app
        self.traced = OpenTelemetryMiddleware(self._restored, default_span_details=_span_details, tracer_provider=tracer_provider,
                                              exclude_spans=["receive", "send"])  # not a span per chunk of an upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or UNTRACED.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        bare = {**scope, "client": None, "query_string": b"", "headers": [(k, v) for k, v in scope["headers"] if k == b"host"],
                _ORIGINAL: scope}
        await self.traced(bare, receive, send)
        if _FAILED in bare:
            raise bare[_FAILED]

    async def _restored(self, bare: Scope, receive: Receive, send: Send) -> None:
        """Inside the span: the page is served from the request as it came."""
        try:
            await self.app(bare[_ORIGINAL], receive, send)
        except Exception as failure:  # noqa: BLE001 - raised again by __call__, outside the span
            span = trace.get_current_span()
            span.set_status(Status(StatusCode.ERROR, type(failure).__name__))
            span.set_attribute("error.type", type(failure).__qualname__)
            bare[_FAILED] = failure


def _span_details(scope: Scope) -> tuple[str, dict[str, str]]:
    """`POST /follow/{action}`: the route's template names the span, never the path a visitor typed."""
    method = scope.get("method", "HTTP")
    route = next((r.path for r in iter_route_contexts(scope["app"].routes) if r.matches(scope)[0] is Match.FULL), None)
    return (f"{method} {route}", {"http.route": route}) if route else (method, {})
