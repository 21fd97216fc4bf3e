"""Reporting's projection through the in-memory broker on SQLite: status and ordered history."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hub_reporting.app import create_runtime
from hub_shared.auth import Role, Scope
from hub_shared.envelope import wrap
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted, RoutingDecision, Target
from hub_shared.testing import bearer, deliver, sqlite_runtime


async def status(runtime, code: str, headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        return await client.get(f"/api/v1/status/{code}", headers=bearer(Role.presidential_centre) if headers is None else headers)


def registered(case_id: uuid.UUID, code: str) -> CaseRegistered:
    return CaseRegistered(case_id=case_id, tracking_code=code, case_number="1405-00000007", kind="request", channel="web",
                          target=Target(agency="health", province="fars"), registered_at=datetime.now(UTC))


async def test_status_follows_the_facts_and_redelivery_adds_no_history(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "55555555550"
    routed = CaseRouted(case_id=case_id, tracking_code=code, unit_id="health/fars/performance-office", unit_name="اداره فارس",
                        decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                        deadline_at=datetime(2027, 1, 9, tzinfo=UTC), deadline_jalali="x", routed_at=datetime.now(UTC))
    first, second = wrap(registered(case_id, code), "/hub/intake"), wrap(routed, "/hub/routing")
    await deliver(runtime, first, second, second)
    body = (await status(runtime, "۵۵۵۵۵۵۵۵۵۵۰")).json()  # Persian digits are accepted
    assert body["status"] == "referred" and body["unit_name"] == "اداره فارس" and body["case_number"] == "1405-00000007"
    assert [h["status"] for h in body["history"]] == ["registered", "referred"]


async def test_rejection_shows_its_reason_and_unknown_codes_are_404(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "66666666665"
    rejected = CaseRejected(case_id=case_id, tracking_code=code, reason_code="unclear_target", reason_fa="مرجع نامشخص",
                            reason_en="unclear target", rejected_at=datetime.now(UTC))
    await deliver(runtime, registered(case_id, code), rejected)
    body = (await status(runtime, code)).json()
    assert body["status"] == "rejected" and "مرجع نامشخص" in body["history"][-1]["note_fa"]
    missing = await status(runtime, "12345678903")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_tracking_code"


@pytest.mark.parametrize("headers,answer,reason", [
    ({}, 401, "Authorization"),
    (bearer(Role.expert, "health/fars"), 403, "does not grant status:read"),
    (bearer(Role.agency_system, "health", scopes=[Scope.cases_submit]), 403, "does not grant status:read"),
    (bearer(Role.presidential_centre, "labour"), 403, "outside labour"),
    (bearer(Role.provincial_supervisor, "health/tehran"), 403, "outside health/tehran"),
    (bearer(Role.provincial_supervisor, "health/fars"), 200, None),
    (bearer(Role.agency_system, "health"), 200, None),
    (bearer(Role.presidential_centre), 200, None),
])
async def test_status_is_for_supervising_bodies_within_their_subtree(tmp_path, headers, answer, reason) -> None:
    """Citizens track through intake with their national ID; this lookup by code alone needs a token."""
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "77777777770"
    await deliver(runtime, registered(case_id, code))
    response = await status(runtime, code, headers)
    assert response.status_code == answer, response.text
    if reason:
        assert reason in response.json()["error"]["message_en"]


async def test_a_mistyped_code_is_caught_by_its_check_digit(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    mistyped = await status(runtime, "12345678904")
    assert mistyped.status_code == 422 and mistyped.json()["error"]["code"] == "mistyped_tracking_code"


async def test_the_timeline_shows_the_ladder_and_the_work_on_the_case(tmp_path) -> None:
    from hub_shared.events import FollowUpSent, InformationRequested, SlaBreached

    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    case_id, code = uuid.uuid4(), "88888888885"
    now, unit = datetime.now(UTC), "health/fars/performance-office"
    await deliver(runtime, registered(case_id, code),
                  SlaBreached(case_id=case_id, tracking_code=code, unit_id=unit, deadline_at=now, breached_at=now),
                  FollowUpSent(case_id=case_id, tracking_code=code, unit_id=unit, level=3, notice_to_superiors=True, sent_at=now),
                  InformationRequested(case_id=case_id, tracking_code=code, unit_id=unit, by="p-1", clock_paused=True, requested_at=now))
    body = (await status(runtime, code)).json()
    assert [h["event_type"].split(".")[3] for h in body["history"]] == ["registered", "sla-breached", "follow-up-sent", "information-requested"]
    assert "مقام مافوق" in body["history"][2]["note_fa"] and body["status"] == "awaiting_information"
