"""One case from HTTP to the status read model, through five service processes and a real broker."""

import time

import httpx
import pytest

from tests.e2e.helpers import staff_headers, files_text, log_lines, read_all, spans, submit, submission, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def test_every_service_is_live_ready_and_documented(hub) -> None:
    for name in hub.ports:
        base = hub.url(name)
        assert httpx.get(f"{base}/health/live").status_code == 200
        ready = httpx.get(f"{base}/health/ready").json()
        assert ready["checks"] == {"database": "ok", "broker": "ok", "outbox_relay": "ok"}
        assert httpx.get(f"{base}/openapi.json").json()["openapi"].startswith("3.")
        asyncapi = httpx.get(f"{base}/asyncapi.json").json()
        assert asyncapi["asyncapi"].startswith("3.") and asyncapi["channels"] or name == "intake"


def test_a_case_is_registered_routed_scheduled_and_visible_by_tracking_code(hub) -> None:
    registration = submit(hub)
    status = wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    assert status["case_number"] == registration["case_number"]
    assert status["unit_name"] == "واحد رسیدگی به شکایات شهرستان مشهد"
    assert status["deadline_jalali"].startswith("14")
    assert [entry["event_type"] for entry in status["history"]] == [
        "ir.hub.case.registered.v1", "ir.hub.case.routed.v1", "ir.hub.case.deadline-scheduled.v1"]
    timers = httpx.get(f"{hub.url('followup')}/api/v1/cases/{registration['case_id']}/timers", headers=staff_headers()).json()
    assert [(t["step"], t["status"]) for t in timers] == [("answer_deadline", "pending")]
    assert timers[0]["due_at"][:10] == status["deadline_at"][:10]


def test_one_trace_follows_the_case_across_services_and_logs_carry_it(hub) -> None:
    registration = submit(hub)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    time.sleep(1.5)  # span batches are flushed every 0.5 s
    posts = [s for s in spans(hub) if s["service"] == "intake" and s["kind"] == "SERVER" and "POST" in s["name"]]
    assert posts
    by_trace: dict[str, set[str]] = {}
    for span in spans(hub):
        by_trace.setdefault(span["trace_id"], set()).add(span["service"])
    full = [trace_id for trace_id in {s["trace_id"] for s in posts}
            if {"intake", "routing", "followup", "reporting", "samad-gateway"} <= by_trace[trace_id]]
    assert full, "a submission's trace reaches every service that consumes its events"
    kinds = {s["kind"] for s in spans(hub) if s["trace_id"] == full[0]}
    assert {"SERVER", "PRODUCER", "CONSUMER"} <= kinds
    assert any(s["name"].startswith(("INSERT", "SELECT", "UPDATE", "connect")) for s in spans(hub) if s["trace_id"] == full[0])
    case_lines = [line for line in log_lines(hub) if registration["case_id"] in line and '"trace_id": "' in line]
    assert case_lines, "log lines about the case carry its case_id and trace_id"


def test_personal_data_stays_out_of_logs_traces_and_the_bus(hub) -> None:
    person = {"full_name": "کامران پژوهنده", "national_id": "4391500086", "phone": "09137778899", "address": "یزد، کوچه نارنج، پلاک ۹۹۱"}
    registration = submit(hub, **person)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    time.sleep(1.5)
    on_bus = b"\n".join((r.value or b"") + repr(r.headers).encode() for r in read_all(hub.bootstrap, "hub.cases.v1"))
    written = files_text(hub.data_dir)
    for value in person.values():
        assert value not in written, f"{value} leaked into logs or traces"
        assert value.encode() not in on_bus, f"{value} leaked onto the bus"


def test_bad_input_gets_a_reason_and_leaves_nothing_behind(hub) -> None:
    url = f"{hub.url('intake')}/api/v1/cases"
    cases = [
        httpx.post(url, content=b"{oops", headers={"content-type": "application/json"}),
        httpx.post(url, json={"kind": "complaint"}),
        httpx.post(url, json=submission(target={"agency": "nowhere", "province": "tehran"})),
        httpx.post(url, json=submission(description="x" * 400_000)),
    ]
    assert [r.status_code for r in cases] == [422, 422, 422, 413]
    assert [r.json()["error"]["code"] for r in cases] == ["invalid_request", "invalid_request", "unknown_agency", "request_too_large"]
    assert all(r.json()["error"]["message_fa"] and r.json()["error"]["message_en"] for r in cases)
    missing = {f["field"] for f in cases[1].json()["error"]["fields"]}
    assert {"national_id", "full_name", "target"} <= missing
