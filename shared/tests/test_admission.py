"""Admission control on a runtime with one route that holds its requests until the test lets them go:
what the limit and the queue cannot take is answered 503 with `Retry-After` and a Persian and English
reason without reaching the route, probes answer throughout, and once the load is gone requests are served."""

import asyncio
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub_shared import db
from hub_shared.httpspans import ServerSpans
from hub_shared.messaging import OutboxMessage
from hub_shared.reconcile import ReconcileReport
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings


class Held:
    """`GET /api/v1/held`: counts the requests that reach it and keeps each until `let_go` is set."""

    def __init__(self) -> None:
        self.reached = 0
        self.let_go = asyncio.Event()
        self.router = APIRouter()
        self.router.get("/api/v1/held")(self.held)

    async def held(self) -> dict:
        self.reached += 1
        await self.let_go.wait()
        return {"served": True}


@asynccontextmanager
async def edge(tmp_path, **limits):
    runtime = Runtime(HubSettings(service_name="edge", data_dir=tmp_path, database_url="", **limits), migrations=tmp_path)
    async with runtime.engine.begin() as connection:  # what /metrics and /health/* read; no migrations without a service
        await connection.run_sync(lambda sync: [table.__table__.create(sync) for table in (OutboxMessage, ReconcileReport)])
    held = Held()
    runtime.routers.append(held.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://edge") as client:
        yield runtime, held, client
    await runtime.engine.dispose()


def sample(runtime: Runtime, name: str, **labels: str) -> float | None:
    return runtime.metrics.registry.get_sample_value(name, {"service": "edge", **labels})


async def until(condition) -> None:
    """Let the requests in flight advance (one loop, no network) until `condition` holds."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never reached")


def assert_overloaded(response: httpx.Response, retry_after: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == retry_after
    error = response.json()["error"]
    assert error["code"] == "overloaded"
    assert "دوباره تلاش کنید" in error["message_fa"] and "try again" in error["message_en"]


async def test_past_the_limit_and_a_full_queue_requests_are_refused_at_once_while_probes_answer(tmp_path) -> None:
    async with edge(tmp_path, http_max_in_flight=2, http_max_queued=1, http_queue_seconds=5, http_retry_after_seconds=3) as (
            runtime, held, client):
        running = [asyncio.create_task(client.get("/api/v1/held")) for _ in range(2)]
        await until(lambda: held.reached == 2)
        queued = asyncio.create_task(client.get("/api/v1/held"))
        await until(lambda: sample(runtime, "hub_http_queued_requests") == 1)

        async with asyncio.timeout(10):  # only against a hang: without admission control the request waits in the route
            assert_overloaded(await client.get("/api/v1/held"), retry_after="3")
            assert not queued.done(), "refused at once, not after a budget the queued one would have run out first"
            probes = [await client.get(path) for path in ("/health/live", "/health/serving", "/metrics")]
        assert [probe.status_code for probe in probes] == [200, 200, 200], [probe.text for probe in probes]
        assert 'hub_http_shed_requests_total{reason="queue_full",service="edge"} 1.0' in probes[2].text
        assert sample(runtime, "hub_http_in_flight_requests") == 2 and held.reached == 2, "the refused one never reached the route"

        held.let_go.set()
        answers = await asyncio.gather(*running, queued)
        assert [answer.status_code for answer in answers] == [200, 200, 200], "the queued one is served once a place is free"
        assert (await client.get("/api/v1/held")).status_code == 200
        assert sample(runtime, "hub_http_in_flight_requests") == 0 and sample(runtime, "hub_http_queued_requests") == 0


async def test_a_request_that_finds_no_place_within_the_budget_is_refused_without_being_served(tmp_path) -> None:
    async with edge(tmp_path, http_max_in_flight=1, http_max_queued=10, http_queue_seconds=0.05) as (runtime, held, client):
        running = asyncio.create_task(client.get("/api/v1/held"))
        await until(lambda: held.reached == 1)
        async with asyncio.timeout(10):
            assert_overloaded(await client.get("/api/v1/held"), retry_after="2")
        assert not running.done() and held.reached == 1, "refused by the budget while the place was still taken"
        assert sample(runtime, "hub_http_shed_requests_total", reason="queue_timeout") == 1
        held.let_go.set()
        assert (await running).status_code == 200
        assert (await client.get("/api/v1/held")).status_code == 200


async def test_the_openapi_document_declares_the_503_on_api_routes_but_not_on_probes(tmp_path) -> None:
    async with edge(tmp_path) as (runtime, held, client):
        paths = (await client.get("/openapi.json")).json()["paths"]
    refusal = paths["/api/v1/held"]["get"]["responses"]["503"]
    assert refusal["headers"]["Retry-After"]["required"] is True
    assert "503" not in paths["/health/live"]["get"]["responses"] and "503" not in paths["/metrics"]["get"]["responses"]


async def test_a_refusal_leaves_no_span_while_a_served_request_has_its_own(tmp_path) -> None:
    async with edge(tmp_path, http_max_in_flight=1, http_max_queued=0) as (runtime, held, client):
        assert (await client.get("/health/live")).status_code == 200  # builds the middleware stack
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        layer = client._transport.app.middleware_stack
        while not isinstance(layer, ServerSpans):
            layer = layer.app
        layer._tracer = provider.get_tracer("test")

        running = asyncio.create_task(client.get("/api/v1/held"))
        await until(lambda: held.reached == 1)
        assert_overloaded(await client.get("/api/v1/held"), retry_after="2")
        held.let_go.set()
        assert (await running).status_code == 200
        assert [span.name for span in spans.get_finished_spans()] == ["GET /api/v1/held"], "the served one only"
        assert sample(runtime, "hub_http_shed_requests_total", reason="queue_full") == 1
