"""A server span per request: named by the route's template, a child of the caller's `traceparent`, with the method
and status and nothing a caller typed; none for the untraced paths; a failure marked by its type only."""

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hub_shared.httpspans import ServerSpans

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(spans):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = FastAPI()

    @app.get("/api/v1/cases/{code}")
    async def case(code: str) -> dict:
        if code == "broken":
            raise RuntimeError("the national id 0012345678 was not found")  # a message that quotes input
        if code == "missing":
            raise HTTPException(404)
        return {"code": code}

    @app.get("/health/ready")
    async def ready() -> dict:
        return {}

    app.add_middleware(ServerSpans, untraced=["health/.*"], tracer_provider=provider)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://hub")


async def test_a_request_is_one_server_span_named_by_its_route_under_the_callers_trace(client, spans) -> None:
    answer = await client.get("/api/v1/cases/ABC123?phone=09121234567",
                              headers={"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"})
    assert answer.status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.SERVER and span.name == "GET /api/v1/cases/{code}"
    assert format(span.context.trace_id, "032x") == CALLER_TRACE and format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert dict(span.attributes) == {"http.request.method": "GET", "http.route": "/api/v1/cases/{code}", "http.response.status_code": 200}
    assert "ABC123" not in repr(span.to_json()) and "0912" not in span.to_json(), "no path, query or client in the span"


async def test_a_request_without_a_caller_starts_a_trace(client, spans) -> None:
    await client.get("/api/v1/cases/ABC123")
    (span,) = spans.get_finished_spans()
    assert span.parent is None


async def test_untraced_paths_leave_no_span(client, spans) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    assert spans.get_finished_spans() == ()


async def test_a_failure_is_an_error_span_that_names_its_type_not_its_message(client, spans) -> None:
    assert (await client.get("/api/v1/cases/broken")).status_code == 500
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "RuntimeError"
    assert "0012345678" not in span.to_json()


async def test_a_refusal_is_not_an_error(client, spans) -> None:
    assert (await client.get("/api/v1/cases/missing")).status_code == 404
    (span,) = spans.get_finished_spans()
    assert span.attributes["http.response.status_code"] == 404 and span.status.status_code is StatusCode.UNSET
