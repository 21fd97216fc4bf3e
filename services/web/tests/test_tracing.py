"""The portal's traces: a server span per page, and the calls to intake, routing and reporting carrying a traceparent
of the same trace, so intake's spans are children of the portal's; with no personal data in any span, and no span at
all for a visit's rating. The portal runs in process against a fake intake and routing (httpx's mock transport,
which sees the headers the portal really sends), its spans in memory."""

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hub_shared.settings import HubSettings
from hub_web.app import create_app
from hub_web.settings import WebSettings
from hub_web.upstream import Upstream

NATIONAL_ID, PHONE, FULL_NAME, ADDRESS = "2914177763", "09121234567", "زهرا احمدی", "تهران، خیابان آزادی، پلاک ۱۲"
TRACKING_CODE, VISITOR, USER_AGENT = "12345678903", "203.0.113.7", "Mozilla/5.0 (a citizen's own phone)"
BROWSERS_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # sent by a browser: must not be continued
UNIT = "labour/fars/marvdasht/performance-office"
PLACES = {"agencies": [{"code": "labour", "name_fa": "وزارت کار"}],
          "provinces": [{"code": "tehran", "name_fa": "تهران", "counties": [{"code": "rey", "name_fa": "ری"}]}]}
RECEIPT = {"case_id": "5f0c6f4e-3a56-4a5c-9a53-3f3f3b7a1c11", "case_number": "1405-00000001", "tracking_code": TRACKING_CODE,
           "registered_at": "2026-11-07T06:00:00Z", "registered_at_jalali": "1405/08/16 09:30", "follow_up_phone": "111"}
TRACKED = {"tracking_code": TRACKING_CODE, "case_number": "1405-00000001", "kind": "complaint", "status": "registered",
           "status_fa": "ثبت‌شده", "registered_at": "2026-11-07T06:00:00Z", "registered_at_jalali": "1405/08/16 09:30",
           "unit_name": None, "deadline_at": None, "deadline_jalali": None, "calendar": None, "answer": None, "history": []}
ANSWERS = {
    ("GET", "/api/v1/attachments/policy"): (200, {"max_bytes": 4_000_000, "max_per_case": 10, "media_types": ["application/pdf"]}),
    ("GET", "/api/v1/org/places"): (200, PLACES),
    ("GET", f"/api/v1/org/places/units/{UNIT}"): (200, {"name_fa": "اداره کار مرودشت"}),
    ("POST", "/api/v1/cases"): (201, RECEIPT),
    ("POST", "/api/v1/cases/track"): (200, TRACKED),
    ("POST", "/api/v1/feedback"): (202, {"message_fa": "سپاس", "message_en": "Thanks"}),
}


@pytest.fixture
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    return exporter


@pytest.fixture
def upstream_requests(monkeypatch) -> list[httpx.Request]:
    """What intake and routing received; each answers from ANSWERS."""
    received: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        received.append(request)
        status, body = ANSWERS[(request.method, request.url.path)]
        return httpx.Response(status, json=body)

    original = Upstream.__init__

    def faked(self, settings, tracer_provider=None):
        original(self, settings, tracer_provider)
        for name in ("intake", "routing", "reporting"):
            base_url = getattr(self, name).base_url
            setattr(self, name, httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(answer)))

    monkeypatch.setattr(Upstream, "__init__", faked)
    return received


@pytest.fixture
async def portal(spans, upstream_requests) -> Iterator[httpx.AsyncClient]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(HubSettings(service_name="web"), WebSettings(), tracer_provider=provider)
    transport = httpx.ASGITransport(app=app, client=(VISITOR, 51000), raise_app_exceptions=False)
    headers = {"user-agent": USER_AGENT, "traceparent": BROWSERS_TRACE, "x-forwarded-for": "198.51.100.9"}
    async with httpx.AsyncClient(transport=transport, base_url="http://portal", headers=headers) as client:
        yield client


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', (await client.get(path)).text)[1]


def server_span(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER and s.name == name]
    return span


def parent_of(request: httpx.Request) -> tuple[str, str]:
    """The trace id and parent span id the portal sent the service in `traceparent`."""
    version, trace_id, span_id, flags = request.headers["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1, "sampled: intake records its spans"
    return trace_id, span_id


def everything_recorded(spans: InMemorySpanExporter) -> str:
    """Every span's name, attributes, events and status, as they would be exported."""
    return json.dumps([{"name": s.name, "attributes": dict(s.attributes or {}), "status": s.status.description,
                        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in s.events]}
                       for s in spans.get_finished_spans()], ensure_ascii=False)


def assert_no_visitor_in(spans: InMemorySpanExporter) -> None:
    recorded = everything_recorded(spans)
    for value in (NATIONAL_ID, PHONE, FULL_NAME, ADDRESS, "آزادی", TRACKING_CODE, VISITOR, "198.51.100.9", USER_AGENT, "citizen"):
        assert value not in recorded, f"{value!r} is in a span: {recorded}"


async def test_a_filing_trace_starts_at_the_portal_and_intake_continues_it_with_no_personal_data(portal, spans, upstream_requests) -> None:
    token = await form_token(portal, "/file")
    filed = await portal.post("/file", data={
        "form_token": token, "kind": "complaint", "full_name": FULL_NAME, "national_id": NATIONAL_ID, "phone": PHONE,
        "address": ADDRESS, "subject": "تاخیر در پرداخت مستمری", "description": f"مستمری من پرداخت نشده است. {NATIONAL_ID}",
        "agency": "labour", "province": "tehran", "county": "rey"})
    assert filed.status_code == 201, filed.text

    page = server_span(spans, "POST /file")
    assert page.parent is None, "a trace context the browser sent is not continued"
    trace_id = format(page.context.trace_id, "032x")
    assert trace_id != BROWSERS_TRACE.split("-")[1]
    (registration,) = [r for r in upstream_requests if r.url.path == "/api/v1/cases"]
    assert NATIONAL_ID in registration.content.decode(), "the fake intake got the real filing"
    sent_trace, sent_parent = parent_of(registration)
    assert sent_trace == trace_id, "intake's spans join the portal's trace"
    (call,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT and format(s.context.span_id, "016x") == sent_parent]
    assert call.parent.span_id == page.context.span_id and call.attributes["peer.service"] == "intake"
    assert call.name == "POST /api/v1/cases" and call.attributes["http.response.status_code"] == 201
    assert page.attributes["http.route"] == "/file" and page.attributes["http.status_code"] == 201
    assert_no_visitor_in(spans)


async def test_following_a_case_is_traced_into_intake_and_the_proof_stays_out_of_the_spans(portal, spans, upstream_requests) -> None:
    token = await form_token(portal, "/follow")
    followed = await portal.post("/follow", data={"form_token": token, "tracking_code": TRACKING_CODE,
                                                  "proof_kind": "national_id", "proof": NATIONAL_ID})
    assert followed.status_code == 200, followed.text
    page = server_span(spans, "POST /follow")
    (tracking,) = [r for r in upstream_requests if r.url.path == "/api/v1/cases/track"]
    assert parent_of(tracking)[0] == format(page.context.trace_id, "032x")
    assert_no_visitor_in(spans)


async def test_a_visits_rating_leaves_no_span_and_sends_no_trace_context(portal, spans, upstream_requests) -> None:
    token = await form_token(portal, f"/r/{UNIT}")
    rated = await portal.post(f"/r/{UNIT}", data={"form_token": token, "score": "4"})
    assert rated.status_code == 200, rated.text
    assert [r.url.path for r in upstream_requests][-1] == "/api/v1/feedback"
    assert spans.get_finished_spans() == (), "a span's time would date the visit"
    assert all("traceparent" not in r.headers for r in upstream_requests)
    await portal.get("/static/css/portal.css")
    await portal.get("/health/live")
    assert spans.get_finished_spans() == ()


async def test_a_failure_is_recorded_by_its_type_not_its_message(portal, spans, monkeypatch) -> None:
    async def failing(self, path, body, citizen_address):
        raise ValueError(f"national_id {body.get('national_id')} did not parse")

    monkeypatch.setattr(Upstream, "post_intake", failing)
    token = await form_token(portal, "/follow")
    failed = await portal.post("/follow", data={"form_token": token, "tracking_code": TRACKING_CODE,
                                                "proof_kind": "national_id", "proof": NATIONAL_ID})
    assert failed.status_code == 500
    page = server_span(spans, "POST /follow")
    assert page.status.status_code is StatusCode.ERROR and page.attributes["error.type"] == "ValueError"
    assert_no_visitor_in(spans)
