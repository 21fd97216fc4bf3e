"""The case page counts the working days left to the deadline on the working calendar of the unit holding the case,
which intake's tracking answer names (as routing named it on the referral or the last move)."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from hub_shared.calendar import STANDARD, THURSDAY_WORKING, Calendars
from hub_shared.settings import HubSettings
from hub_web.app import create_app
from hub_web.pages import following
from hub_web.pages.following import working_days_left
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Upstream

SATURDAY_MORNING = datetime(2026, 11, 7, 6, 0, tzinfo=UTC)  # 09:30 in Tehran, Saturday 16 Aban 1405
NEXT_WEDNESDAY = "2026-11-11T20:29:59Z"  # the end of Wednesday in Tehran: no Thursday in between
NEXT_SATURDAY = "2026-11-14T20:29:59Z"  # the end of the next Saturday: one Thursday (and a Friday holiday) in between
TWO_WEEKS = "2026-11-21T20:29:59Z"
CALENDARS = Calendars.of_week(thursday_off=True)


def case(deadline: str | None, calendar: str | None) -> dict:
    return {"tracking_code": "12345678903", "case_number": "1405-00000001", "kind": "complaint", "status": "referred",
            "status_fa": "ارجاع‌شده", "registered_at": "2026-11-01T06:00:00Z", "registered_at_jalali": "1405/08/10 09:30",
            "unit_name": "اداره کار ری", "deadline_at": deadline, "deadline_jalali": None, "calendar": calendar,
            "answer": None, "history": []}


@pytest.mark.parametrize("deadline,standard,thursday_working", [
    (NEXT_WEDNESDAY, 4, 4),  # Sunday to Wednesday: the same on both
    (NEXT_SATURDAY, 5, 6),  # and Thursday, which only the Thursday-working unit counts
    (TWO_WEEKS, 10, 12),
])
def test_a_unit_working_thursdays_has_more_days_left_only_when_a_thursday_comes_first(deadline, standard, thursday_working) -> None:
    left = {calendar: working_days_left(CALENDARS, case(deadline, calendar), now=SATURDAY_MORNING)
            for calendar in (STANDARD, THURSDAY_WORKING, None, "a-calendar-this-deployment-lacks")}
    assert left == {STANDARD: standard, THURSDAY_WORKING: thursday_working, None: standard,
                    "a-calendar-this-deployment-lacks": standard}, "none named, or unknown: the standard calendar"
    assert working_days_left(CALENDARS, case(None, THURSDAY_WORKING), now=SATURDAY_MORNING) is None


def test_the_standard_calendar_follows_the_deployments_week() -> None:
    thursday_worked = Calendars.of_week(thursday_off=False)
    assert working_days_left(thursday_worked, case(NEXT_SATURDAY, STANDARD), now=SATURDAY_MORNING) == 6


async def test_the_case_page_shows_the_days_left_on_the_holding_units_calendar(monkeypatch) -> None:
    tracked: list[dict] = []

    async def post_intake(self, path, body, citizen_address):
        assert path == "/api/v1/cases/track"
        return Answer(200, tracked[-1])

    async def attachment_policy(self):
        return {"max_bytes": 4_000_000, "media_types": ["application/pdf"]}

    monkeypatch.setattr(Upstream, "post_intake", post_intake)
    monkeypatch.setattr(Upstream, "attachment_policy", attachment_policy)
    monkeypatch.setattr(following, "now_utc", lambda: SATURDAY_MORNING)
    monkeypatch.setenv("HUB_THURSDAY_OFF", "true")
    app = create_app(HubSettings(service_name="web"), WebSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as client:
        token = re.search(r'name="form_token" value="([^"]+)"', (await client.get("/follow")).text)[1]

        async def days_left(calendar: str | None) -> str:
            tracked.append(case(NEXT_SATURDAY, calendar))
            page = await client.post("/follow", data={"form_token": token, "tracking_code": "12345678903",
                                                      "proof_kind": "national_id", "proof": "2914177763"})
            assert page.status_code == 200, page.text
            return re.search(r'<dd id="deadline">(.*?)</dd>', page.text, re.S)[1]

        assert "۶ روز کاری مانده" in await days_left(THURSDAY_WORKING)
        assert "۵ روز کاری مانده" in await days_left(STANDARD)
        assert "۵ روز کاری مانده" in await days_left(None)


async def test_in_english_the_status_and_the_outcome_are_words_not_codes(monkeypatch) -> None:
    answered = case(None, None) | {"status": "answered", "status_fa": "پاسخ داده‌شده", "answer": {
        "outcome": "partly_upheld", "outcome_fa": "بخشی وارد است", "answer_fa": "پاسخ", "legal_grounds": None,
        "answered_at": "2026-11-05T06:00:00Z"}}

    async def post_intake(self, path, body, citizen_address):
        return Answer(200, answered)

    async def attachment_policy(self):
        return {"max_bytes": 4_000_000, "media_types": ["application/pdf"]}

    monkeypatch.setattr(Upstream, "post_intake", post_intake)
    monkeypatch.setattr(Upstream, "attachment_policy", attachment_policy)
    app = create_app(HubSettings(service_name="web"), WebSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal", cookies={"hub_lang": "en"}) as client:
        token = re.search(r'name="form_token" value="([^"]+)"', (await client.get("/follow")).text)[1]
        page = (await client.post("/follow", data={"form_token": token, "tracking_code": "12345678903",
                                                   "proof_kind": "national_id", "proof": "2914177763"})).text
    assert '<dd class="status" id="status">Answered</dd>' in page
    assert re.search(r'<h2 id="answer-title">Final answer — partly upheld</h2>', page)
