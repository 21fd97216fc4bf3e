"""Intake's HTTP edge on a real SQLite database, without a broker: registration writes the case,
the complainant and the outbox row in one transaction; bad input stores nothing."""

import json

import httpx
import pytest
from sqlmodel import func, select

from hub_intake.app import create_runtime
from hub_intake.domain import is_well_formed_tracking_code, luhn_check_digit, new_tracking_code
from hub_intake.models import Case, Complainant
from hub_shared.messaging import OutboxMessage
from hub_shared.testing import sqlite_runtime

VALID = {
    "kind": "complaint",
    "full_name": "علي رضايي",
    "national_id": "۲۹۱۴۱۷۷۷۶۳",
    "phone": "۰۹۱۲۱۲۳۴۵۶۷",
    "address": "اصفهان، خیابان چهارباغ، کوچه ۵",
    "subject": "عدم پاسخگویی اداره",
    "description": "سه بار به اداره مراجعه کرده‌ام و پاسخی دریافت نکرده‌ام.",
    "target": {"agency": "labour", "province": "isfahan", "county": "kashan"},
}


@pytest.fixture
async def intake(tmp_path):
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    transport = httpx.ASGITransport(app=runtime.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield runtime, client
    await runtime.engine.dispose()


async def count(runtime, model) -> int:
    async with runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_registration_answers_with_codes_and_stages_one_event(intake) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json=VALID)
    assert response.status_code == 201, response.text
    body = response.json()
    assert is_well_formed_tracking_code(body["tracking_code"])
    assert body["case_number"].startswith("14")
    assert body["tracking_code"] in body["message_fa"] and body["follow_up_phone"]
    async with runtime.sessions() as session:
        complainant = (await session.exec(select(Complainant))).one()
        outbox = (await session.exec(select(OutboxMessage))).one()
    assert complainant.national_id == "2914177763" and complainant.phone == "09121234567"
    assert complainant.full_name == "علی رضایی"
    assert outbox.topic == "hub.cases.v1" and outbox.headers["ce_type"] == "ir.hub.case.registered.v1"
    payload = outbox.value.decode()
    for secret in ("2914177763", "09121234567", "رضایی", "چهارباغ"):
        assert secret not in payload, "personal data must not go on the bus"
    assert json.loads(payload)["citizen_ref"]


@pytest.mark.parametrize("change,code,status", [
    ({"national_id": "2914177764"}, "invalid_national_id", 422),
    ({"phone": "12345"}, "invalid_request", 422),
    ({"phone": "99121234567"}, "invalid_phone", 422),
    ({"target": {"agency": "ministry-of-nowhere", "province": "tehran"}}, "unknown_agency", 422),
    ({"target": {"agency": "labour", "province": "atlantis"}}, "unknown_province", 422),
    ({"target": {"agency": "labour", "province": "tehran", "county": "kashan"}}, "unknown_county", 422),
    ({"kind": "gossip"}, "invalid_request", 422),
    ({"full_name": None}, "invalid_request", 422),
])
async def test_bad_submissions_get_a_reason_and_store_nothing(intake, change, code, status) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json={**VALID, **change})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message_fa"] and error["message_en"]
    assert await count(runtime, Case) == 0 and await count(runtime, OutboxMessage) == 0


async def test_invalid_json_and_oversized_bodies_are_refused(intake) -> None:
    runtime, client = intake
    bad_json = await client.post("/api/v1/cases", content=b"{not json", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422 and bad_json.json()["error"]["code"] == "invalid_request"
    huge = await client.post("/api/v1/cases", json={**VALID, "description": "x" * 300_000})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"
    assert await count(runtime, Case) == 0


def test_tracking_codes_carry_a_check_digit_that_catches_typos() -> None:
    code = new_tracking_code()
    assert is_well_formed_tracking_code(code)
    typo = code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    assert not is_well_formed_tracking_code(typo)
    assert luhn_check_digit("7992739871") == 3
