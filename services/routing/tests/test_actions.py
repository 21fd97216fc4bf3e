"""Moving a routed case, on SQLite with the in-memory broker: transfer to another agency (deadline kept,
limited), forward down to a sub-unit, return, reject for a legal reason; who may do it."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hub_routing.app import create_runtime
from hub_shared.auth import Role
from hub_shared.events import (CaseForwarded, CaseRegistered, CaseRejected, CaseReturned, CaseRouted, CaseTransferred, OrgUnitUpserted,
                               Target)
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

ISFAHAN = Target(agency="labour", province="isfahan")
MANAGER = bearer(Role.office_manager, "labour/isfahan", subject="manager-1")


async def routed_case(tmp_path, monkeypatch, max_transfers: int = 2):
    monkeypatch.setenv("HUB_ROUTING_MAX_TRANSFERS", str(max_transfers))
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    case = CaseRegistered(case_id=uuid.uuid4(), tracking_code="12345678903", case_number="1405-00000002", kind="complaint",
                          channel="web", target=ISFAHAN, registered_at=datetime.now(UTC))
    await deliver(runtime, case)
    routed = (await staged(runtime))[0].data
    assert isinstance(routed, CaseRouted) and routed.unit_id == "labour/isfahan/performance-office"
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing")
    return runtime, client, routed


async def test_a_transfer_moves_the_case_to_the_other_agency_and_keeps_the_deadline(tmp_path, monkeypatch) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch)
    async with client:
        moved = await client.post(f"/api/v1/cases/{routed.case_id}/transfer", headers=MANAGER,
                                  json={"agency": "health", "reason": "موضوع مربوط به بیمه درمان است."})
    assert moved.status_code == 200, moved.text
    event = (await staged(runtime))[-1].data
    assert isinstance(event, CaseTransferred)
    assert (event.unit_id, event.agency, event.transfers, event.by) == ("health/isfahan/performance-office", "health", 1, "manager-1")
    assert event.deadline_at == routed.deadline_at, "a transfer never restarts the clock"
    assert (routed.calendar, event.calendar) == ("iran-standard", "iran-standard")


async def test_transfers_are_limited(tmp_path, monkeypatch) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch, max_transfers=1)
    national = bearer(Role.national_supervisor)
    async with client:
        first = await client.post(f"/api/v1/cases/{routed.case_id}/transfer", headers=national, json={"agency": "health", "reason": "it is theirs, really"})
        second = await client.post(f"/api/v1/cases/{routed.case_id}/transfer", headers=national, json={"agency": "hajj", "reason": "or rather theirs"})
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["error"]["code"] == "too_many_transfers" and second.json()["error"]["message_fa"]


async def test_a_unit_forwards_down_and_returns(tmp_path, monkeypatch) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch)
    await deliver(runtime, OrgUnitUpserted(  # the Kashan office works on Thursdays
        unit_id="labour/isfahan/kashan/performance-office", parent_id="labour/isfahan/kashan", kind="performance_office",
        name_fa="دفتر مدیریت عملکرد اداره کاشان", calendar="iran-thursday-working", changed_by="isfahan-province-system",
        changed_at=datetime.now(UTC)))
    async with client:
        down = await client.post(f"/api/v1/cases/{routed.case_id}/forward", headers=MANAGER,
                                 json={"unit_id": "labour/isfahan/kashan/performance-office", "reason": "محل وقوع کاشان است"})
        sideways = await client.post(f"/api/v1/cases/{routed.case_id}/forward", headers=MANAGER,
                                     json={"unit_id": "health/isfahan/performance-office", "reason": "x" * 5})
        back = await client.post(f"/api/v1/cases/{routed.case_id}/return", headers=bearer(Role.provincial_supervisor, "labour/isfahan"),
                                 json={"reason_code": "outside_mandate", "note": "ارجاع اشتباه"})
        again = await client.post(f"/api/v1/cases/{routed.case_id}/return", headers=MANAGER, json={"reason_code": "outside_mandate"})
    assert down.status_code == 200 and back.status_code == 200
    assert sideways.status_code == 409 and sideways.json()["error"]["code"] == "not_a_sub_unit"
    assert again.status_code == 404, "a returned case is no longer held"
    events = [envelope.data for envelope in await staged(runtime)][1:]
    assert [type(e) for e in events] == [CaseForwarded, CaseReturned]
    assert events[0].unit_id == "labour/isfahan/kashan/performance-office" and events[1].reason_fa
    assert events[0].calendar == "iran-thursday-working", "the forward names the sub-unit's calendar"


@pytest.mark.parametrize("headers,status,reason", [
    ({}, 401, "Authorization"),
    (bearer(Role.unit_responder, "labour/isfahan"), 403, "does not move cases"),
    (bearer(Role.presidential_centre), 403, "does not grant cases:read"),
    (bearer(Role.expert, "labour/tehran"), 403, "outside labour/tehran"),
    (bearer(Role.expert, "labour/isfahan"), 200, None),
])
async def test_who_may_move_a_case(tmp_path, monkeypatch, headers, status, reason) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch)
    async with client:
        response = await client.post(f"/api/v1/cases/{routed.case_id}/transfer", headers=headers,
                                     json={"agency": "health", "reason": "the matter is the health ministry's"})
    assert response.status_code == status, response.text
    if reason:
        assert reason in response.json()["error"]["message_en"]


@pytest.mark.parametrize("body,status,code", [
    ({"agency": "nowhere", "reason": "a reason long enough"}, 422, "unknown_agency"),
    ({"agency": "labour", "reason": "a reason long enough"}, 409, "same_agency"),
    ({"agency": "health", "reason": "short"}, 422, "invalid_request"),
])
async def test_bad_transfers_are_refused_with_a_reason(tmp_path, monkeypatch, body, status, code) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch)
    async with client:
        response = await client.post(f"/api/v1/cases/{routed.case_id}/transfer", headers=MANAGER, json=body)
    assert response.status_code == status and response.json()["error"]["code"] == code


async def test_an_expert_rejects_a_case_for_a_legal_reason_the_citizen_is_told(tmp_path, monkeypatch) -> None:
    runtime, client, routed = await routed_case(tmp_path, monkeypatch)
    expert = bearer(Role.expert, "labour/isfahan", subject="expert-1")
    async with client:
        unknown = await client.post(f"/api/v1/cases/{routed.case_id}/reject", headers=expert, json={"reason_code": "i_do_not_like_it"})
        supervisor = await client.post(f"/api/v1/cases/{routed.case_id}/reject", headers=bearer(Role.provincial_supervisor, "labour/isfahan"),
                                       json={"reason_code": "unreasoned"})
        rejected = await client.post(f"/api/v1/cases/{routed.case_id}/reject", headers=expert,
                                     json={"reason_code": "appeal_of_final_ruling", "note": "رأی قطعی هیئت حل اختلاف پیوست است"})
        again = await client.post(f"/api/v1/cases/{routed.case_id}/reject", headers=expert, json={"reason_code": "unreasoned"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_reason"
    assert supervisor.status_code == 403 and "do not reject" in supervisor.json()["error"]["message_en"].replace("does not", "do not")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert again.status_code == 404, "a rejected case is no longer held"
    event = (await staged(runtime))[-1].data
    assert isinstance(event, CaseRejected) and event.reason_code == "appeal_of_final_ruling"
    assert event.reason_fa.startswith("اعتراض به رأی قطعی") and "هیئت" not in event.reason_fa, "the note stays in routing"
