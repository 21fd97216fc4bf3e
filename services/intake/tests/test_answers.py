"""After the answer, on SQLite with the in-memory broker: the citizen sees the final answer, then accepts
it (archived) or objects (reopened, back to the office with its history), and is told by SMS."""

import uuid
from datetime import UTC, datetime

from sqlmodel import select

from hub_intake.notify.models import Notification
from hub_shared.auth import Role
from hub_shared.events import AnswerOutcome, CaseAnswered, CaseArchived, CaseHandlingRated, CaseReopened
from hub_shared.testing import bearer, deliver, staged

from .test_citizen import routed
from .test_registration import VALID, intake  # noqa: F401  (intake is a fixture)

PROOF = {"national_id": "2914177763"}
KASHAN = "labour/isfahan/kashan/performance-office"


async def answered_case(runtime, client) -> dict:
    case = (await client.post("/api/v1/cases", json=VALID)).json()
    case_id = uuid.UUID(case["case_id"])
    await deliver(runtime, routed(case["case_id"], case["tracking_code"]), CaseAnswered(
        case_id=case_id, tracking_code=case["tracking_code"], unit_id=KASHAN, outcome=AnswerOutcome.partly_upheld,
        answer_fa="مستمری شما از ماه آینده پرداخت می‌شود؛ معوقه‌ها بررسی شد.", legal_grounds="ماده ۱۱ قانون تأمین اجتماعی",
        answered_at=datetime.now(UTC)))
    return {**case, "proof": {"tracking_code": case["tracking_code"], **PROOF}}


async def templates(runtime) -> list[str]:
    async with runtime.sessions() as session:
        return [n.template for n in (await session.exec(select(Notification).order_by(Notification.id))).all()]


async def test_the_citizen_sees_the_final_answer_with_its_grounds(intake) -> None:
    runtime, client = intake
    case = await answered_case(runtime, client)
    body = (await client.post("/api/v1/cases/track", json=case["proof"])).json()
    assert (body["status"], body["status_fa"]) == ("answered", "پاسخ داده‌شده")
    assert body["answer"]["outcome_fa"] == "بخشی وارد است" and "ماده ۱۱" in body["answer"]["legal_grounds"]
    assert body["answer"]["answered_at_jalali"].startswith("14")
    assert await templates(runtime) == ["registered", "referred", "answered"]


async def test_an_objection_reopens_the_case_and_staff_read_it(intake) -> None:
    runtime, client = intake
    case = await answered_case(runtime, client)
    objection = "پاسخ داده‌شده معوقه‌های شش ماه گذشته را در نظر نگرفته است؛ فیش‌ها را پیوست کرده‌ام."
    reopened = await client.post("/api/v1/cases/track/reopen", json={**case["proof"], "objection": objection})
    assert reopened.status_code == 202, reopened.text
    event = (await staged(runtime))[-1].data
    assert isinstance(event, CaseReopened) and event.reopenings == 1 and objection not in event.model_dump_json()
    tracked = (await client.post("/api/v1/cases/track", json=case["proof"])).json()
    assert tracked["status"] == "reopened" and [h["status"] for h in tracked["history"]][-2:] == ["answered", "reopened"]
    detail = (await client.get(f"/api/v1/cases/{case['case_id']}", headers=bearer(Role.expert, KASHAN))).json()
    assert [o["note_fa"] for o in detail["objections"]] == [objection] and detail["answer_outcome"] == "partly_upheld"
    again = await client.post("/api/v1/cases/track/reopen", json={**case["proof"], "objection": objection})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_answered", "reopened, not answered again yet"
    assert (await templates(runtime))[-1] == "reopened"


async def test_accepting_the_answer_archives_the_case(intake) -> None:
    runtime, client = intake
    case = await answered_case(runtime, client)
    assert (await client.post("/api/v1/cases/track/accept", json=case["proof"])).status_code == 202
    assert isinstance((await staged(runtime))[-1].data, CaseArchived)
    after = await client.post("/api/v1/cases/track/reopen", json={**case["proof"], "objection": "x" * 30})
    assert after.status_code == 409
    duplicate = await client.post("/api/v1/cases", json=VALID)
    assert duplicate.status_code == 422 and duplicate.json()["error"]["code"] == "already_answered"


async def test_only_an_answered_case_is_accepted_or_reopened_and_only_by_its_citizen(intake) -> None:
    runtime, client = intake
    case = (await client.post("/api/v1/cases", json=VALID)).json()
    proof = {"tracking_code": case["tracking_code"], **PROOF}
    early = await client.post("/api/v1/cases/track/accept", json=proof)
    assert early.status_code == 409 and early.json()["error"]["message_fa"]
    answered = await answered_case(runtime, client)
    stranger = await client.post("/api/v1/cases/track/reopen", json={"tracking_code": answered["tracking_code"],
                                                                     "national_id": "3170669079", "objection": "x" * 30})
    short = await client.post("/api/v1/cases/track/reopen", json={**answered["proof"], "objection": "نه"})
    assert stranger.status_code == 404 and short.status_code == 422


async def test_the_citizen_rates_how_the_answered_case_was_handled_once(intake) -> None:
    runtime, client = intake
    case = (await client.post("/api/v1/cases", json=VALID)).json()
    proof = {"tracking_code": case["tracking_code"], **PROOF}
    early = await client.post("/api/v1/cases/track/rate", json={**proof, "score": 4})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_ratable"
    answered = await answered_case(runtime, client)
    assert (await client.post("/api/v1/cases/track/rate", json={**answered["proof"], "score": 2})).status_code == 202
    rated = (await staged(runtime))[-1].data
    assert isinstance(rated, CaseHandlingRated) and rated.score == 2 and rated.unit_id == KASHAN
    twice = await client.post("/api/v1/cases/track/rate", json={**answered["proof"], "score": 5})
    out_of_range = await client.post("/api/v1/cases/track/rate", json={**answered["proof"], "score": 6})
    assert twice.status_code == 409 and out_of_range.status_code == 422
