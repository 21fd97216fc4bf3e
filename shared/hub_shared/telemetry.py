"""OpenTelemetry tracing: OTLP/HTTP export when an endpoint is set, else a JSON-lines file per service.

The file lets the embedded default show one trace across services with no collector running.

Each process starts at most `HubSettings.traces_per_second` new traces (`TracesPerSecond`), and every span under a
kept trace is kept, in this service and, through the `traceparent` the events carry, in every other: a case is
traced whole or not at all. Recording every case cost 18 % of the hub's CPU at 190 cases/s (1.75 of 9.74 ms a
case: about 27 spans a case, 35 us each to make and 8 us to write); a quiet hub, the tests among them, keeps
every trace. Cases not kept still carry their trace id in their events (the operations timeline) and log lines.
"""

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult

from hub_shared.settings import HubSettings


class JsonLinesSpanExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(_as_dict(span), ensure_ascii=False) for span in spans]
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS


def _as_dict(span: ReadableSpan) -> dict:
    context = span.get_span_context()
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


class TracesPerSecond(Sampler):
    """A new trace is kept while the process has kept fewer than `rate` in the last second or so (a bucket that
    fills at `rate` a second and holds a second's worth); else its spans are not recorded. For root spans only:
    `ParentBased` keeps what the parent kept."""

    def __init__(self, rate: float, clock=time.monotonic) -> None:
        self._rate, self._clock = rate, clock
        self._room = max(rate, 1.0) if rate > 0 else 0.0
        self._tokens, self._last = self._room, clock()
        self._lock = threading.Lock()

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None) -> SamplingResult:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._room, self._tokens + (now - self._last) * self._rate)
            self._last = now
            kept = self._tokens >= 1
            if kept:
                self._tokens -= 1
        if kept:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)
        return SamplingResult(Decision.DROP, None, trace_state)

    def get_description(self) -> str:
        return f"TracesPerSecond{{{self._rate:g}}}"


def sampler_for(settings: HubSettings) -> Sampler | None:
    """None where the operator chose one (OTEL_TRACES_SAMPLER): the SDK reads it."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(root=TracesPerSecond(settings.traces_per_second))


def setup_tracing(settings: HubSettings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name, "service.namespace": "people-hub"}),
                              sampler=sampler_for(settings))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: SpanExporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces")
    else:
        exporter = JsonLinesSpanExporter(settings.trace_file)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    return provider
