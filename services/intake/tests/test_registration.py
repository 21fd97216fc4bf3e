"""Intake's HTTP edge on a real SQLite database, without a broker: registration writes the case,
the encrypted complainant and the outbox row in one transaction; bad input stores nothing."""

import asyncio
import base64
import json
import os
from contextlib import asynccontextmanager
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import func, select

from hub_intake.app import create_runtime
from hub_intake.models import Case, Complainant, open_personal_data
from hub_intake.settings import IntakeSettings
from hub_shared.messaging import OutboxMessage
from hub_shared.testing import sqlite_runtime
from hub_shared.tracking import luhn_check_digit, new_tracking_code, parse_tracking_code

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


STORED = {"full_name": "علی رضایی", "national_id": "2914177763", "phone": "09121234567",
          "address": "اصفهان، خیابان چهارباغ، کوچه ۵"}


@asynccontextmanager
async def running_intake(data_dir):
    runtime = sqlite_runtime(create_runtime, "intake", data_dir)
    transport = httpx.ASGITransport(app=runtime.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield runtime, client
    await runtime.engine.dispose()


@pytest.fixture
async def intake(tmp_path):
    async with running_intake(tmp_path) as started:
        yield started


async def stored_complainant(runtime, case_id: str) -> Complainant:
    async with runtime.sessions() as session:
        return (await session.exec(select(Complainant).where(Complainant.case_id == UUID(case_id)))).one()


def revealed(complainant: Complainant, settings: IntakeSettings) -> dict[str, str]:
    return open_personal_data(settings.personal_data_vault, complainant.case_id, complainant.model_dump())


def data_keys(*key_ids: str) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}" for key_id in key_ids)


def matter(n: int) -> dict:
    """A submission of the same citizen about a different matter each time (the same one twice is linked)."""
    subjects = ["تاخیر در پرداخت مستمری", "رفتار نامناسب کارمند باجه", "عدم صدور پروانه کسب", "قطعی مکرر سامانه نوبت‌دهی"]
    return {**VALID, "subject": subjects[n], "description": f"{subjects[n]} — شرح کامل ماجرا در مراجعه شماره {n * 7919}."}


async def count(runtime, model) -> int:
    async with runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_registration_answers_with_codes_and_stages_one_event(intake) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json=VALID)
    assert response.status_code == 201, response.text
    body = response.json()
    assert parse_tracking_code(body["tracking_code"])
    assert body["case_number"].startswith("14")
    assert body["tracking_code"] in body["message_fa"] and body["follow_up_phone"]
    complainant = await stored_complainant(runtime, body["case_id"])
    assert revealed(complainant, IntakeSettings()) == STORED, "normalised on the way in, intact on the way out"
    async with runtime.sessions() as session:
        outbox = (await session.exec(select(OutboxMessage))).one()
    assert outbox.topic == "hub.cases.v1" and outbox.headers["ce_type"] == "ir.hub.case.registered.v1"
    payload = outbox.value.decode()
    readable = json.dumps(json.loads(payload), ensure_ascii=False)  # the bus escapes Persian as \\uXXXX: compare decoded text
    for secret in ("2914177763", "09121234567", "رضایی", "چهارباغ", VALID["description"][:20]):
        assert secret not in readable, "personal data must not go on the bus"
    assert "عدم پاسخگویی" not in readable, "nor the citizen's own words"
    assert json.loads(payload)["citizen_ref"]


async def test_the_stored_row_holds_no_personal_value_in_the_clear(intake) -> None:
    runtime, client = intake
    assert (await client.post("/api/v1/cases", json=VALID)).status_code == 201
    async with runtime.sessions() as session:
        row = (await session.execute(text("SELECT * FROM intake_complainant"))).mappings().one()
    raw = b"\n".join(value if isinstance(value, bytes) else str(value).encode() for value in row.values())
    for value in [*STORED.values(), VALID["full_name"], VALID["national_id"], "چهارباغ", "رضایی"]:
        assert value.encode() not in raw, f"{value} is stored in the clear"
    assert set(row) >= {"full_name_ciphertext", "national_id_ciphertext", "phone_ciphertext", "address_ciphertext"}
    assert not set(row) & {"full_name", "national_id", "phone", "address"}
    assert row["national_id_hash"] == IntakeSettings().personal_data_vault.lookup_hash("2914177763")


async def test_after_key_rotation_old_cases_still_read_and_the_same_citizen_is_recognised(tmp_path, monkeypatch) -> None:
    old_key = data_keys("2025-01")
    monkeypatch.setenv("HUB_INTAKE_DATA_KEYS", old_key)
    async with running_intake(tmp_path) as (runtime, client):
        before = (await client.post("/api/v1/cases", json=VALID)).json()
    monkeypatch.setenv("HUB_INTAKE_DATA_KEYS", f"{data_keys('2026-01')},{old_key}")
    async with running_intake(tmp_path) as (runtime, client):
        after = (await client.post("/api/v1/cases", json=matter(2))).json()
        old_row = await stored_complainant(runtime, before["case_id"])
        new_row = await stored_complainant(runtime, after["case_id"])
    settings = IntakeSettings()
    assert revealed(old_row, settings) == revealed(new_row, settings) == STORED
    assert old_row.full_name_ciphertext.startswith(b"2025-01:") and new_row.full_name_ciphertext.startswith(b"2026-01:")
    assert old_row.national_id_hash == new_row.national_id_hash, "duplicate detection must not depend on the data key"


@pytest.mark.parametrize("change,code,status", [
    ({"national_id": "2914177764"}, "invalid_national_id", 422),
    ({"phone": "12345"}, "invalid_request", 422),
    ({"phone": "99121234567"}, "invalid_phone", 422),
    ({"target": {"agency": "ministry-of-nowhere", "province": "tehran"}}, "unknown_agency", 422),
    ({"target": {"agency": "labour", "province": "atlantis"}}, "unknown_province", 422),
    ({"target": {"agency": "labour", "province": "tehran", "county": "kashan"}}, "unknown_county", 422),
    ({"kind": "gossip"}, "invalid_request", 422),
    ({"full_name": None}, "identity_required", 422),
    ({"national_id": None, "phone": None, "full_name": None, "address": None}, "identity_required", 422),
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
    assert parse_tracking_code(code) == code
    typo = code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    assert parse_tracking_code(typo) is None
    assert luhn_check_digit("7992739871") == 3


async def test_one_citizen_cannot_flood_the_hub(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY", "2")
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://intake") as client:
        answers = [(await client.post("/api/v1/cases", json=matter(n))).status_code for n in range(3)]
        other = await client.post("/api/v1/cases", json={**VALID, "national_id": "3170669079"})
        refused = await client.post("/api/v1/cases", json=VALID)
    assert answers == [201, 201, 429] and other.status_code == 201
    assert refused.json()["error"]["code"] == "too_many_requests" and refused.headers["Retry-After"]
    assert await count(runtime, Case) == 3


async def test_a_registration_shed_for_overload_leaves_no_case_and_no_event(tmp_path, monkeypatch) -> None:
    """One place and no queue: while a registration holds the place (its body still arriving), the next is
    answered 503 before intake sees it, and only the first is registered."""
    monkeypatch.setenv("HUB_HTTP_MAX_IN_FLIGHT", "1")
    monkeypatch.setenv("HUB_HTTP_MAX_QUEUED", "0")
    body, reading, rest = json.dumps(VALID).encode(), asyncio.Event(), asyncio.Event()

    async def arriving_slowly():
        yield body[:10]
        reading.set()  # intake asked for more: the request holds the place
        await rest.wait()
        yield body[10:]

    async with running_intake(tmp_path) as (runtime, client):
        first = asyncio.create_task(client.post("/api/v1/cases", content=arriving_slowly(), headers={"content-type": "application/json"}))
        await reading.wait()
        shed = await client.post("/api/v1/cases", json=matter(1))
        assert shed.status_code == 503 and int(shed.headers["Retry-After"]) >= 1, shed.text
        error = shed.json()["error"]
        assert error["code"] == "overloaded" and error["message_fa"] and error["message_en"]
        assert await count(runtime, Case) == await count(runtime, Complainant) == await count(runtime, OutboxMessage) == 0
        rest.set()
        assert (await first).status_code == 201
        assert await count(runtime, Case) == await count(runtime, OutboxMessage) == 1


INJECTIONS = ["'; DROP TABLE intake_case; --", "<script>alert('x')</script>", "\" OR 1=1 --", "{{7*7}} ${7*7}"]


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_injection_attempts_in_text_fields_are_stored_as_plain_text(intake, payload) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json={**VALID, "full_name": f"علی {payload}", "address": f"تهران {payload}",
                                                          "subject": f"موضوع {payload}", "description": f"شرح کامل ماجرا {payload}"})
    assert response.status_code == 201
    assert payload not in response.text, "nothing the citizen typed is echoed back unescaped"
    async with runtime.sessions() as session:
        case = (await session.exec(select(Case))).one()
    assert case.subject_text == f"موضوع {payload}" and case.description == f"شرح کامل ماجرا {payload}"
    assert await count(runtime, Case) == 1, "the tables are intact"
