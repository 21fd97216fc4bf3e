"""A process keeps at most `traces_per_second` new traces (`hub_shared.telemetry.TracesPerSecond`); a kept trace is
kept whole, here and in the services its events reach, and one not kept still hands its trace id on."""

from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hub_shared.settings import HubSettings
from hub_shared.telemetry import TracesPerSecond, sampler_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def kept(sampler: TracesPerSecond, count: int) -> int:
    return sum(sampler.should_sample(None, trace_id, "root").decision.is_sampled() for trace_id in range(1, count + 1))


def test_a_burst_keeps_a_seconds_worth_and_the_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    sampler = TracesPerSecond(3, clock=clock)
    assert kept(sampler, 10) == 3
    clock.now += 0.34  # a third of a second and a little
    assert kept(sampler, 10) == 1
    clock.now += 60  # a quiet minute saves up no more than a second's worth
    assert kept(sampler, 10) == 3


def test_zero_keeps_no_trace() -> None:
    assert kept(TracesPerSecond(0, clock=Clock()), 10) == 0


def sampled(traceparent: str) -> bool:
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 1)


def tracer_with(rate: float):
    provider = TracerProvider(sampler=sampler_for(HubSettings(service_name="sampled", traces_per_second=rate)))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_spans_follow_their_trace_across_a_traceparent_whatever_the_bucket_holds(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    upstream, upstream_spans = tracer_with(1)
    carried = []
    for _ in range(2):  # the first trace is kept, the second is not: the bucket holds one
        with upstream.start_as_current_span("POST /api/v1/cases", kind=SpanKind.SERVER):
            with upstream.start_as_current_span("INSERT", kind=SpanKind.CLIENT):
                headers: dict[str, str] = {}
                propagate.inject(headers)
                carried.append(headers["traceparent"])
    assert [span.name for span in upstream_spans.get_finished_spans()] == ["INSERT", "POST /api/v1/cases"]
    kept_id = format(upstream_spans.get_finished_spans()[0].context.trace_id, "032x")
    assert carried[0].split("-")[1] == kept_id and sampled(carried[0])
    assert carried[1].split("-")[1] != kept_id and not sampled(carried[1]), "the trace id travels on, marked not kept"

    downstream, downstream_spans = tracer_with(0)  # keeps no trace of its own
    for traceparent in carried:
        with downstream.start_as_current_span("hub.cases.v1 process", context=propagate.extract({"traceparent": traceparent}),
                                              kind=SpanKind.CONSUMER):
            pass
    [consumed] = downstream_spans.get_finished_spans()
    assert format(consumed.context.trace_id, "032x") == kept_id


def test_an_operators_sampler_replaces_the_cap(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    assert sampler_for(HubSettings(service_name="sampled", traces_per_second=0)) is None
    tracer = TracerProvider(sampler=sampler_for(HubSettings(service_name="sampled", traces_per_second=0))).get_tracer("test")
    with tracer.start_as_current_span("root") as span:
        assert span.is_recording()
