"""Staff views in intake on a real SQLite database: who sees a case, who sees the complainant, and the
append-only audit log of every such read."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from hub_intake.models import AuditEntry
from hub_shared.auth import Role, Scope
from hub_shared.testing import bearer, deliver

from .test_citizen import routed
from .test_registration import VALID, count, intake  # noqa: F401  (intake is a fixture)

KASHAN = "labour/isfahan/kashan/performance-office"
PURPOSE = {"purpose": "تماس برای تکمیل مدارک پرونده"}


async def routed_case(runtime, client, **changes) -> str:
    response = await client.post("/api/v1/cases", json={**VALID, **changes})
    assert response.status_code == 201, response.text
    case = response.json()
    await deliver(runtime, routed(case["case_id"], case["tracking_code"]))
    return case["case_id"]


async def test_staff_see_the_group_or_legal_person_a_complainant_represents(intake) -> None:
    runtime, client = intake
    case_id = await routed_case(runtime, client, complainant_type="legal", organisation_name="شرکت تعاونی کارگران ساختمانی کاشان")
    body = (await client.get(f"/api/v1/cases/{case_id}", headers=bearer(Role.expert, KASHAN))).json()
    assert (body["complainant_type"], body["organisation_name"]) == ("legal", "شرکت تعاونی کارگران ساختمانی کاشان")
    other = await routed_case(runtime, client, subject="نوبت بازرسی کارگاه", description="نوبت بازرسی کارگاه ما دو ماه است عقب افتاده است.")
    natural = (await client.get(f"/api/v1/cases/{other}", headers=bearer(Role.expert, KASHAN))).json()
    assert (natural["complainant_type"], natural["organisation_name"]) == ("natural", None)


@pytest.mark.parametrize("headers,changes,status,reason", [
    ({}, {}, 401, "Authorization"),
    (bearer(Role.expert, KASHAN), {}, 200, None),
    (bearer(Role.unit_responder, KASHAN), {}, 200, None),
    (bearer(Role.provincial_supervisor, "labour/isfahan"), {}, 200, None),
    (bearer(Role.expert, "labour/isfahan/isfahan/performance-office"), {}, 403, "outside"),
    (bearer(Role.national_supervisor, "health"), {}, 403, "outside health"),
    (bearer(Role.agency_system, "labour"), {}, 403, "does not grant cases:read"),
    (bearer(Role.presidential_centre), {}, 403, "does not grant cases:read"),
    (bearer(Role.gateway), {}, 403, "does not grant cases:read"),
    (bearer(Role.expert, KASHAN), {"confidential": True}, 403, "not cleared"),
    (bearer(Role.office_manager, KASHAN), {"confidential": True}, 200, None),
    (bearer(Role.inspector, "labour/isfahan"), {"confidential": True}, 200, None),
    (bearer(Role.expert, KASHAN, subject="p-2231"), {"about_employee": "p-2231"}, 403, "about you"),
    (bearer(Role.office_manager, KASHAN, subject="p-2231"), {"about_employee": "p-2231"}, 403, "about you"),
    (bearer(Role.expert, KASHAN, subject="p-1000"), {"about_employee": "p-2231"}, 200, None),
])
async def test_a_case_is_shown_only_to_staff_who_may_see_it(intake, headers, changes, status, reason) -> None:
    runtime, client = intake
    case_id = await routed_case(runtime, client, **changes)
    response = await client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == status, response.text
    if reason:
        error = response.json()["error"]
        assert reason in error["message_en"] and error["message_fa"]
        assert await count(runtime, AuditEntry) == 0, "a refused read is not a read"
        return
    body = response.json()
    assert body["description"] == VALID["description"] and body["unit_id"] == KASHAN and body["status"] == "referred"
    assert not {"full_name", "national_id", "phone", "address", "about_employee"} & body.keys()
    assert VALID["full_name"] not in response.text and "2914177763" not in response.text


@pytest.mark.parametrize("headers,status,reason", [
    (bearer(Role.expert, KASHAN), 200, None),
    (bearer(Role.inspector, "labour/isfahan"), 200, None),
    (bearer(Role.unit_responder, KASHAN), 403, "does not grant personal-data:read"),
    (bearer(Role.provincial_supervisor, "labour/isfahan"), 403, "does not grant personal-data:read"),
    (bearer(Role.expert, KASHAN, scopes=[Scope.cases_read]), 403, "does not grant personal-data:read"),
    (bearer(Role.expert, "labour/tehran"), 403, "outside"),
])
async def test_personal_data_only_to_roles_that_need_it_and_every_read_is_audited(intake, headers, status, reason) -> None:
    runtime, client = intake
    case_id = await routed_case(runtime, client)
    response = await client.get(f"/api/v1/cases/{case_id}/complainant", params=PURPOSE, headers=headers)
    assert response.status_code == status, response.text
    if reason:
        assert reason in response.json()["error"]["message_en"]
        assert await count(runtime, AuditEntry) == 0
        return
    assert response.json() == {"full_name": "علی رضایی", "national_id": "2914177763", "phone": "09121234567",
                               "address": VALID["address"]}
    async with runtime.sessions() as session:
        entry = (await session.exec(text("SELECT actor, action, fields, purpose, case_unit FROM intake_audit"))).one()
    assert tuple(entry) == ("tester", "read_personal_data", "full_name,national_id,phone,address", PURPOSE["purpose"], KASHAN)


async def test_reading_personal_data_needs_a_stated_purpose(intake) -> None:
    runtime, client = intake
    case_id = await routed_case(runtime, client)
    for params in ({}, {"purpose": "x"}):
        response = await client.get(f"/api/v1/cases/{case_id}/complainant", params=params, headers=bearer(Role.expert, KASHAN))
        assert response.status_code == 422 and "purpose" in response.text
    assert await count(runtime, AuditEntry) == 0


async def test_an_unknown_case_is_404_with_a_reason(intake) -> None:
    _, client = intake
    response = await client.get(f"/api/v1/cases/{uuid.uuid4()}", headers=bearer(Role.national_supervisor))
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_case"


async def test_the_audit_log_is_read_by_subtree_and_cannot_be_changed(intake) -> None:
    runtime, client = intake
    case_id = await routed_case(runtime, client)
    await client.get(f"/api/v1/cases/{case_id}", headers=bearer(Role.expert, KASHAN, subject="p-1"))
    await client.get(f"/api/v1/cases/{case_id}/complainant", params=PURPOSE, headers=bearer(Role.expert, KASHAN, subject="p-1"))
    mine = await client.get("/api/v1/audit", params={"case_id": case_id}, headers=bearer(Role.inspector, "labour/isfahan"))
    assert mine.status_code == 200
    assert [(e["actor"], e["action"]) for e in mine.json()] == [("p-1", "read_personal_data"), ("p-1", "read_case")]
    elsewhere = await client.get("/api/v1/audit", headers=bearer(Role.inspector, "labour/tehran"))
    assert elsewhere.status_code == 200 and elsewhere.json() == []
    assert (await client.get("/api/v1/audit", headers=bearer(Role.expert, KASHAN))).status_code == 403
    async with runtime.engine.begin() as connection:
        for statement in ("UPDATE intake_audit SET purpose = 'nothing to see'", "DELETE FROM intake_audit"):
            with pytest.raises(DatabaseError, match="append-only"):
                await connection.execute(text(statement))
    assert await count(runtime, AuditEntry) == 2
