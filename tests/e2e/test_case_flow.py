"""One case from HTTP to the status read model, through five service processes and a real broker."""

import json
import time
import uuid

import httpx
import pytest
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.testing import bearer, random_national_id

from tests.e2e.helpers import staff_headers, files_text, log_lines, read_all, spans, submit, submission, wait_for_status, wait_for_tracking

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


@retry(stop=stop_after_delay(20), wait=wait_fixed(0.5), retry=retry_if_exception_type((AssertionError, httpx.HTTPError)), reraise=True)
def ready_checks(base: str) -> dict:
    """A readiness answer with every check ok (each check has its own short limit, which a busy machine may miss once)."""
    checks = httpx.get(f"{base}/health/ready", timeout=10).json()["checks"]
    assert checks == {"database": "ok", "bus": "ok", "outbox_relay": "ok"}, checks
    return checks


def test_every_service_is_live_ready_and_documented(hub) -> None:
    for name in hub.ports:
        base = hub.url(name)
        assert httpx.get(f"{base}/health/live").status_code == 200
        assert ready_checks(base)
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
    steps = {t["step"]: t for t in timers}
    assert set(steps) == {"reminder-5", "reminder-1", "answer_deadline"} and {t["status"] for t in timers} == {"pending"}
    assert steps["answer_deadline"]["due_at"][:10] == status["deadline_at"][:10]
    assert steps["reminder-5"]["due_at"] < steps["reminder-1"]["due_at"] < steps["answer_deadline"]["due_at"]


def test_one_trace_follows_the_case_across_services_and_logs_carry_it(hub) -> None:
    registration = submit(hub)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.3), retry=retry_if_exception_type((AssertionError, ValueError)), reraise=True)
    def complete_traces() -> list[str]:  # span batches are flushed every 0.5 s, later on a busy machine
        posts = [s for s in spans(hub) if s["service"] == "intake" and s["kind"] == "SERVER" and "POST" in s["name"]]
        assert posts
        by_trace: dict[str, set[str]] = {}
        for span in spans(hub):
            by_trace.setdefault(span["trace_id"], set()).add(span["service"])
        full = [trace_id for trace_id in {s["trace_id"] for s in posts}
                if {"intake", "routing", "followup", "reporting", "samad-gateway"} <= by_trace[trace_id]]
        assert full, "a submission's trace reaches every service that consumes its events"
        return full

    full = complete_traces()
    kinds = {s["kind"] for s in spans(hub) if s["trace_id"] == full[0]}
    assert {"SERVER", "PRODUCER", "CONSUMER"} <= kinds
    assert any(s["name"].startswith(("INSERT", "SELECT", "UPDATE", "connect")) for s in spans(hub) if s["trace_id"] == full[0])
    case_lines = [line for line in log_lines(hub) if registration["case_id"] in line and '"trace_id": "' in line]
    assert case_lines, "log lines about the case carry its case_id and trace_id"


def test_personal_data_stays_out_of_logs_traces_and_the_bus(hub) -> None:
    person = {"full_name": "کامران پژوهنده", "national_id": "4391500086", "phone": "09137778899", "address": "یزد، کوچه نارنج، پلاک ۹۹۱"}
    registration = submit(hub, **person)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    intake = hub.url("intake")
    for identifier in ({"national_id": person["national_id"]}, {"phone": person["phone"]}):
        wait_for_tracking(hub, {"tracking_code": registration["tracking_code"], **identifier}, "referred")
    expert = bearer(Role.expert, "labour/khorasan-razavi/mashhad/performance-office")
    revealed = httpx.get(f"{intake}/api/v1/cases/{registration['case_id']}/complainant", headers=expert,
                         params={"purpose": "calling the complainant about missing documents"})
    assert revealed.json() == person, "staff who need it get the data; logs and traces must not"
    time.sleep(1.5)
    on_bus = b"\n".join((r.value or b"") + repr(r.headers).encode() for r in read_all(hub.bootstrap, "hub.cases.v1"))
    written = files_text(hub.data_dir)
    for value in person.values():
        assert value not in written, f"{value} leaked into logs or traces"
        assert value.encode() not in on_bus, f"{value} leaked onto the bus"


def test_the_citizen_tracks_the_case_through_intake_as_it_moves(hub) -> None:
    national_id = random_national_id()
    registration = submit(hub, national_id=national_id)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    query = {"tracking_code": registration["tracking_code"], "national_id": national_id}
    body = wait_for_tracking(hub, query, "referred")
    assert body["unit_name"] == "واحد رسیدگی به شکایات شهرستان مشهد" and body["deadline_jalali"].startswith("14")

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.2), retry=retry_if_exception_type((AssertionError, OSError)), reraise=True)
    def told() -> list[dict]:
        sent = [json.loads(line) for line in (hub.data_dir / "outbox" / "notifications.jsonl").read_text(encoding="utf-8").splitlines()]
        mine = [message for message in sent if registration["tracking_code"] in json.dumps(message, ensure_ascii=False)]
        assert len(mine) >= 2, "the citizen is told of the registration and of the referral"
        return mine

    assert any("مشهد" in json.dumps(message, ensure_ascii=False) for message in told())
    assert [entry["status"] for entry in body["history"]] == ["registered", "referred"]
    wrong = httpx.post(f"{hub.url('intake')}/api/v1/cases/track", json={**query, "national_id": "2914177763"})
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "no_matching_case"


def test_an_anonymous_rating_reaches_the_bus_with_nothing_that_dates_or_names_the_visitor(hub) -> None:
    unit = "labour/khorasan-razavi/mashhad/performance-office"
    employee = f"p-{uuid.uuid4().hex[:8]}"
    answer = httpx.post(f"{hub.url('intake')}/api/v1/feedback", json={"unit_id": unit, "employee_id": employee, "score": 2,
                                                                       "aspects": {"conduct": 1}})
    assert answer.status_code == 202, answer.text

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.2), retry=retry_if_exception_type(AssertionError), reraise=True)
    def published() -> dict:
        found = [json.loads(r.value) for r in read_all(hub.bootstrap, "hub.feedback.v1") if employee.encode() in r.value]
        assert found, "released within the release interval"
        return found[0]

    rating = published()
    assert (rating["unit_id"], rating["score"], rating["aspects"]["conduct"]) == (unit, 2, 1)
    assert set(rating) == {"rating_id", "unit_id", "employee_id", "score", "aspects", "rated_on"}
    assert len(rating["rated_on"]) == 10, "a day, not a time"

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.3), retry=retry_if_exception_type((AssertionError, ValueError)), reraise=True)
    def traced() -> list[dict]:  # span batches are flushed every 0.5 s, later on a busy machine
        found = [s for s in spans(hub) if s["service"] == "intake"]
        assert [s for s in found if s["name"] == "hub.feedback.v1 publish"], "the release is traced"
        assert [s for s in found if "DELETE FROM intake_pending_rating" in str(s["attributes"].get("db.statement", ""))]
        return found

    intake_spans = traced()  # spans go out oldest first: any span of the visit itself is in the file by now
    assert not [s for s in intake_spans if s["kind"] == "SERVER" and "feedback" in s["name"]], "the visit is not"
    statements = [str(s["attributes"].get("db.statement", "")) for s in intake_spans]
    assert not [q for q in statements if "INSERT INTO intake_pending_rating" in q]
    assert not [line for line in log_lines(hub) if "/feedback" in line or employee in line]


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
    assert {"subject", "description", "target"} <= missing
