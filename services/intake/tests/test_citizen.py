"""Citizens without an account, on a real SQLite database with the in-memory broker: tracking a case by
code plus national ID or phone, and anonymous satisfaction ratings."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from hub_intake.models import PendingRating
from hub_intake.ratings import release_ratings
from hub_shared.events import CaseForwarded, CaseRejected, CaseRouted, CaseTransferred, RatingSubmitted, RoutingDecision
from hub_shared.testing import deliver, staged
from hub_shared.tracking import luhn_check_digit

from .test_registration import VALID, count, intake, running_intake  # noqa: F401  (intake is a fixture)

NATIONAL_ID, PHONE = "2914177763", "09121234567"


def routed(case_id: str, code: str, calendar: str | None = None) -> CaseRouted:
    return CaseRouted(case_id=uuid.UUID(case_id), tracking_code=code, unit_id="labour/isfahan/kashan/performance-office",
                      unit_name="اداره تعاون، کار و رفاه اجتماعی کاشان", decision=RoutingDecision(rule="nearest", explanation="e"),
                      working_days=30, deadline_at=datetime(2027, 1, 9, 20, 29, tzinfo=UTC), deadline_jalali="1405/10/19",
                      routed_at=datetime.now(UTC), calendar=calendar)


async def registered(client) -> dict:
    response = await client.post("/api/v1/cases", json=VALID)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_citizen_follows_the_case_with_the_code_and_national_id_or_phone(intake) -> None:
    runtime, client = intake
    case = await registered(client)
    await deliver(runtime, routed(case["case_id"], case["tracking_code"]))
    persian_code = case["tracking_code"].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    by_id = await client.post("/api/v1/cases/track", json={"tracking_code": persian_code, "national_id": "۲۹۱۴۱۷۷۷۶۳"})
    by_phone = await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "phone": PHONE})
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == by_phone.json()
    body = by_id.json()
    assert (body["case_number"], body["status"], body["status_fa"]) == (case["case_number"], "referred", "ارجاع‌شده")
    assert body["unit_name"] == "اداره تعاون، کار و رفاه اجتماعی کاشان" and body["deadline_jalali"].startswith("1405/10/")
    assert body["unit_id"] == "labour/isfahan/kashan/performance-office"  # the portal names it in English through routing
    assert [(h["status"], h["at_jalali"][:2]) for h in body["history"]] == [("registered", "14"), ("referred", "14")]
    assert "کاشان" in body["history"][1]["note_fa"]
    assert NATIONAL_ID not in by_id.text and PHONE not in by_id.text and "علی" not in by_id.text, "no personal data echoed"


async def test_tracking_names_the_working_calendar_of_the_unit_holding_the_case(intake) -> None:
    """The portal counts the working days left on it: the one routing named on the referral, then on each move."""
    runtime, client = intake
    case = await registered(client)
    case_id, code = uuid.UUID(case["case_id"]), case["tracking_code"]

    async def calendar():
        answer = await client.post("/api/v1/cases/track", json={"tracking_code": code, "national_id": NATIONAL_ID})
        assert answer.status_code == 200, answer.text
        return answer.json()["calendar"]

    assert await calendar() is None, "not referred yet: the standard calendar"
    await deliver(runtime, routed(case["case_id"], code, calendar="iran-thursday-working"))
    assert await calendar() == "iran-thursday-working"
    await deliver(runtime, CaseForwarded(case_id=case_id, tracking_code=code, from_unit="labour/isfahan/kashan/performance-office",
                                         unit_id="labour/isfahan/kashan/inspection", unit_name="بازرسی کاشان", reason="r", by="m-1",
                                         forwarded_at=datetime.now(UTC), calendar="iran-standard"))
    assert await calendar() == "iran-standard"
    await deliver(runtime, CaseTransferred(case_id=case_id, tracking_code=code, from_unit="labour/isfahan/kashan/inspection",
                                           unit_id="health/isfahan/performance-office", unit_name="دانشگاه علوم پزشکی اصفهان",
                                           agency="health", transfers=1, deadline_at=datetime(2027, 1, 9, 20, 29, tzinfo=UTC),
                                           reason="r", by="m-1", transferred_at=datetime.now(UTC)))
    assert await calendar() is None, "an event naming no calendar (an older one) means the standard one"


async def test_a_rejected_case_shows_the_reason(intake) -> None:
    runtime, client = intake
    case = await registered(client)
    await deliver(runtime, CaseRejected(case_id=uuid.UUID(case["case_id"]), tracking_code=case["tracking_code"],
                                        reason_code="final_ruling", reason_fa="اعتراض به رأی قطعی", reason_en="appeal of a final ruling",
                                        rejected_at=datetime.now(UTC)))
    body = (await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "national_id": NATIONAL_ID})).json()
    assert body["status"] == "rejected" and "اعتراض به رأی قطعی" in body["history"][-1]["note_fa"]
    assert body["unit_id"] is None and body["unit_name"] is None  # never referred: no unit to name


async def test_a_wrong_id_and_an_unknown_code_get_the_same_answer(intake) -> None:
    _, client = intake
    case = await registered(client)
    unknown = "1234567890" + str(luhn_check_digit("1234567890"))
    wrong_id = await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "national_id": "3170669079"})
    wrong_phone = await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "phone": "09350000000"})
    no_case = await client.post("/api/v1/cases/track", json={"tracking_code": unknown, "national_id": NATIONAL_ID})
    assert {r.status_code for r in (wrong_id, wrong_phone, no_case)} == {404}
    assert wrong_id.json() == wrong_phone.json() == no_case.json(), "the answer must not tell which part was wrong"
    assert no_case.json()["error"]["code"] == "no_matching_case" and no_case.json()["error"]["message_fa"]


@pytest.mark.parametrize("query,field", [
    ({"tracking_code": "12345678904", "national_id": NATIONAL_ID}, "tracking_code"),
    ({"tracking_code": "12345678903"}, "body"),
    ({"tracking_code": "12345678903", "national_id": NATIONAL_ID, "phone": PHONE}, "body"),
    ({"tracking_code": "' OR 1=1 --", "national_id": NATIONAL_ID}, "tracking_code"),
    ({"tracking_code": "<script>alert(1)</script>", "phone": PHONE}, "tracking_code"),
])
async def test_malformed_tracking_requests_are_refused_with_a_reason(intake, query, field) -> None:
    _, client = intake
    response = await client.post("/api/v1/cases/track", json=query)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message_fa"] and error["message_en"]
    assert error.get("field") == field or field in [f["field"] for f in error.get("fields", [])]


async def test_guessing_ids_against_one_code_locks_that_code(intake) -> None:
    _, client = intake
    case = await registered(client)
    guesses = [await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "phone": f"0912000000{n}"})
               for n in range(5)]
    assert [g.status_code for g in guesses] == [404] * 5
    locked = await client.post("/api/v1/cases/track", json={"tracking_code": case["tracking_code"], "national_id": NATIONAL_ID})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 60, "even the right ID waits out the lock"


async def test_an_address_trying_unknown_codes_is_locked_out(intake) -> None:
    _, client = intake
    codes = [f"{n:010d}" + str(luhn_check_digit(f"{n:010d}")) for n in range(1, 12)]
    answers = [(await client.post("/api/v1/cases/track", json={"tracking_code": code, "national_id": NATIONAL_ID})).status_code
               for code in codes]
    assert answers == [404] * 10 + [429]


RATING = {"unit_id": "labour/isfahan/kashan/performance-office", "employee_id": "p-2231", "score": 4,
          "aspects": {"respect": 5, "speed": 3}}


async def test_a_rating_is_held_then_released_with_nothing_that_links_it_to_the_visitor(intake) -> None:
    runtime, client = intake
    answers = [await client.post("/api/v1/feedback", json={**RATING, "employee_id": f"p-{n}"}) for n in range(8)]
    assert {a.status_code for a in answers} == {202} and answers[0].json()["message_fa"]
    assert await staged(runtime) == [], "nothing is published at the moment of the visit"
    async with runtime.sessions() as session:
        held = (await session.exec(select(PendingRating))).all()
    assert len(held) == 8 and set(PendingRating.model_fields) == {
        "rating_id", "unit_id", "employee_id", "score", "respect", "speed", "quality", "conduct", "rated_on"}
    assert await release_ratings(runtime) == 8 and await count(runtime, PendingRating) == 0
    events = [envelope.data for envelope in await staged(runtime)]
    assert all(isinstance(e, RatingSubmitted) and e.unit_id == RATING["unit_id"] and e.score == 4 for e in events)
    assert sorted(e.employee_id for e in events) == sorted(f"p-{n}" for n in range(8))
    assert events[0].aspects.respect == 5 and events[0].aspects.quality is None
    assert set(events[0].model_dump()) == {"rating_id", "unit_id", "employee_id", "score", "aspects", "rated_on"}
    assert await release_ratings(runtime) == 0


async def test_ratings_are_released_in_shuffled_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR", "100")
    given = [f"p-{n:02d}" for n in range(30)]
    async with running_intake(tmp_path) as (runtime, client):
        for employee in given:
            assert (await client.post("/api/v1/feedback", json={**RATING, "employee_id": employee})).status_code == 202
        await release_ratings(runtime)
        published = [envelope.data.employee_id for envelope in await staged(runtime)]
    assert sorted(published) == given and published != given  # the same order has a chance of 1 in 30!


@pytest.mark.parametrize("change,code", [
    ({"unit_id": "labour/nowhere/performance-office"}, "unknown_unit"),
    ({"unit_id": "'; DROP TABLE intake_pending_rating; --"}, "unknown_unit"),
    ({"score": 6}, "invalid_request"),
    ({"score": 0}, "invalid_request"),
    ({"aspects": {"respect": 9}}, "invalid_request"),
    ({"employee_id": "<img src=x onerror=alert(1)>"}, "invalid_request"),
    ({"national_id": NATIONAL_ID}, "invalid_request"),  # a rating takes no identity, even when offered
])
async def test_bad_ratings_are_refused_with_a_reason_and_keep_nothing(intake, change, code) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/feedback", json={**RATING, **change})
    assert response.status_code == 422 and response.json()["error"]["code"] == code
    assert await count(runtime, PendingRating) == 0


async def test_one_address_cannot_flood_the_ratings(intake) -> None:
    _, client = intake
    answers = [(await client.post("/api/v1/feedback", json=RATING)).status_code for _ in range(11)]
    assert answers == [202] * 10 + [429]


async def test_behind_a_trusted_portal_each_citizen_has_their_own_allowance(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR", "1")
    monkeypatch.setenv("HUB_INTAKE_TRUSTED_PROXIES", "127.0.0.0/8")  # the in-process client's address
    async with running_intake(tmp_path) as (_, client):
        def rate(citizen: str):
            return client.post("/api/v1/feedback", json=RATING, headers={"X-Forwarded-For": citizen})

        answers = [(await rate(citizen)).status_code for citizen in ("10.1.1.1", "10.1.1.1", "10.2.2.2")]
    assert answers == [202, 429, 202]


async def test_from_an_untrusted_peer_the_forwarded_address_is_ignored(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR", "1")
    monkeypatch.setenv("HUB_INTAKE_TRUSTED_PROXIES", "10.9.0.0/16")
    async with running_intake(tmp_path) as (_, client):
        first = await client.post("/api/v1/feedback", json=RATING, headers={"X-Forwarded-For": "10.1.1.1"})
        second = await client.post("/api/v1/feedback", json=RATING, headers={"X-Forwarded-For": "10.2.2.2"})
    assert (first.status_code, second.status_code) == (202, 429)
