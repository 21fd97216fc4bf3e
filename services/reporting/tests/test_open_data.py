"""Open data: the public aggregates of an agency's cases, with small counts hidden, on SQLite through the in-memory broker."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import jdatetime
import pytest

from hub_reporting.app import create_runtime
from hub_reporting.open_data import TOTAL, hidden, with_totals
from hub_reporting.open_data_api import last_twelve_months, months_of
from hub_shared.envelope import wrap
from hub_shared.events import Aspects, CaseAnswered, CaseRegistered, CaseRouted, RatingSubmitted, RoutingDecision, Target
from hub_shared.testing import deliver, sqlite_runtime

AZAR_1405 = datetime(2026, 11, 25, 8, tzinfo=UTC)  # Wednesday 4 Azar 1405
NEXT_MONDAY = timedelta(days=5)  # Saturday, Sunday and Monday are working days: an answer on Monday took 3
counter = iter(range(1, 10_000))


def case(kind: str = "complaint", province: str = "tehran", late: bool = False, answered: bool = True, **registered) -> list:
    """The facts of one case filed for labour in `province`, referred and (unless not `answered`) answered."""
    n, case_id = next(counter), uuid.uuid4()
    code, at, unit = f"{n:011d}", AZAR_1405 + timedelta(minutes=n), f"labour/{province}/performance-office"
    facts = [CaseRegistered(case_id=case_id, tracking_code=code, case_number=f"1405-{n:08d}", kind=kind, channel="web",
                            target=Target(agency="labour", province=province), registered_at=at, **registered),
             CaseRouted(case_id=case_id, tracking_code=code, unit_id=unit, unit_name="دفتر", working_days=30,
                        deadline_at=at + (timedelta(days=1) if late else timedelta(days=30)), deadline_jalali="x", routed_at=at,
                        decision=RoutingDecision(rule="r", explanation="e"))]
    if answered:
        facts.append(CaseAnswered(case_id=case_id, tracking_code=code, unit_id=unit, outcome="upheld", answer_fa="پاسخ",
                                  legal_grounds="ماده ۱", answered_at=at + NEXT_MONDAY))
    return [wrap(fact, "/hub/test") for fact in facts]


def rating(score: int, unit: str, day: date = date(2026, 11, 25)) -> RatingSubmitted:
    return RatingSubmitted(rating_id=uuid.uuid4(), unit_id=unit, employee_id="e-42", score=score, aspects=Aspects(respect=score),
                           rated_on=day)


async def open_data(runtime, **params) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        return await client.get("/api/v1/open-data", params=params)  # no token: anyone may ask


@pytest.fixture
async def azar(tmp_path):
    """Labour in Tehran in Azar 1405: 5 complaints (one answered late), 2 requests, 2 suggestions, and a confidential
    complaint and one about a named employee, which are never counted; a complaint in Fars; 5 complaints in Isfahan;
    6 ratings in Tehran, 3 in Fars, 5 in Isfahan. (Isfahan's numbers are the ones hidden beside Fars's: without them
    it would be Tehran's, since the whole country's number less Tehran's would give Fars's away.)"""
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    facts = [*case(late=True), *[f for _ in range(4) for f in case()], *case("request"), *case("request", answered=False),
             *case("suggestion"), *case("suggestion"), *case(confidential=True), *case(about_employee="e-42"), *case(province="fars"),
             *[f for _ in range(5) for f in case(province="isfahan")]]
    ratings = [rating(s, "labour/tehran/rey/performance-office") for s in (5, 4, 4, 3, 5, 3)]
    ratings += [rating(1, "labour/fars/performance-office") for _ in range(3)]
    ratings += [rating(2, "labour/isfahan/performance-office") for _ in range(5)]
    await deliver(runtime, *facts, *(wrap(r, "/hub/intake") for r in ratings))
    return runtime


def value(figure: dict):
    return "hidden" if figure["suppressed"] else figure["value"]


async def test_cases_by_kind_hide_small_counts_and_never_count_confidential_cases_or_cases_about_an_employee(azar) -> None:
    body = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()
    azar_figures = body["months"][0]
    assert body["threshold"] == 5 and [m["month"] for m in body["months"]] == ["1405-09"]
    assert {kind: value(f) for kind, f in azar_figures["cases"].items() if f["value"] != 0} == {
        "complaint": 5, "request": "hidden", "suggestion": "hidden"}
    assert value(azar_figures["cases_total"]) == 9 and value(body["total"]["cases_total"]) == 9
    assert azar_figures["cases"]["idea"] == {"value": 0, "suppressed": False}  # a zero describes nobody
    nationwide = (await open_data(azar, agency="labour", period="1405-09")).json()
    assert value(nationwide["total"]["cases"]["complaint"]) == 11 and nationwide["province"] is None


async def test_answers_on_time_and_the_median_answer_time_in_working_days(azar) -> None:
    total = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()["total"]
    assert value(total["answered"]) == 8  # one request is not answered yet
    assert value(total["on_time_share"]) == 0.875  # 7 of 8
    assert value(total["median_working_days"]) == 3


async def test_satisfaction_counts_and_means_with_a_small_group_hidden(azar) -> None:
    tehran = (await open_data(azar, agency="labour", province="tehran", period="1405-09")).json()["total"]
    assert (value(tehran["ratings"]), value(tehran["mean_score"])) == (6, 4.0)
    fars = (await open_data(azar, agency="labour", province="fars", period="1405-09")).json()["total"]
    assert (value(fars["ratings"]), value(fars["mean_score"])) == ("hidden", "hidden")
    assert value(fars["cases_total"]) == "hidden" and value(fars["answered"]) == "hidden"
    assert value(fars["on_time_share"]) == "hidden" and value(fars["median_working_days"]) == "hidden"


async def test_no_personal_field_or_identifier_appears(azar) -> None:
    body = (await open_data(azar, agency="labour", province="tehran", period="1405")).json()
    assert len(body.pop("counting")) == 6 and len(body["months"]) == 12  # the counting rules, in words
    text = json.dumps(body)
    for leak in ("tracking_code", "case_id", "unit", "employee", "e-42", "00000000001", "performance-office", "national_id", "1405-0000"):
        assert leak not in text, leak
    assert set(body["total"]) == {"month", "cases", "cases_total", "answered", "on_time_share", "median_working_days",
                                  "ratings", "mean_score"}


async def test_unknown_agency_province_or_period_is_refused_with_a_reason(azar) -> None:
    for params, code in (({"agency": "nowhere"}, "unknown_agency"), ({"agency": "labour", "province": "atlantis"}, "unknown_province"),
                         ({"agency": "labour", "period": "1405-13"}, "unknown_period")):
        answer = await open_data(azar, **params)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code, answer.text
    assert (await open_data(azar)).status_code == 422  # the agency is required


async def test_each_address_is_limited_like_the_other_public_endpoints(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_PUBLIC_REQUESTS_PER_MINUTE", "2")
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    answers = [await open_data(runtime, agency="labour") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429] and answers[2].headers["retry-after"]


def test_a_count_that_a_total_would_reveal_is_hidden_with_the_smallest_other_count_of_its_line() -> None:
    rows, columns = ["1405-08", "1405-09"], ["complaint", "request"]
    grid = with_totals({("1405-08", "complaint"): 20, ("1405-08", "request"): 7, ("1405-09", "complaint"): 12,
                        ("1405-09", "request"): 2}, rows, columns)
    concealed = hidden(grid, rows, columns, threshold=5)
    # the 2 requests of Azar, then its 12 complaints (Azar's total would give the 2 away), then Aban's 7 requests
    # (the requests' total would give the 2 away), then Aban's 20 complaints (Aban's total would give the 7 away)
    assert concealed == {("1405-09", "request"), ("1405-09", "complaint"), ("1405-08", "request"), ("1405-08", "complaint")}
    assert (TOTAL, TOTAL) not in concealed
    for line in [[(r, c) for c in [*columns, TOTAL]] for r in [*rows, TOTAL]] + [[(r, c) for r in [*rows, TOTAL]] for c in [*columns, TOTAL]]:
        assert sum(key in concealed for key in line) != 1, line


def test_the_default_window_is_the_current_jalali_month_and_the_eleven_before() -> None:
    window = last_twelve_months(jdatetime.date(1405, 9, 17))
    assert months_of(window) == [f"1404-{m:02d}" for m in range(10, 13)] + [f"1405-{m:02d}" for m in range(1, 10)]
    assert window.last == jdatetime.date(1405, 9, 30)
    assert months_of(last_twelve_months(jdatetime.date(1405, 12, 1))) == [f"1405-{m:02d}" for m in range(1, 13)]
