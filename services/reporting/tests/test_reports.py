"""Statistics, satisfaction, conduct, change feed, timeline and rebuild, on SQLite through the in-memory broker."""

import io
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from hub_reporting import satisfaction
from hub_reporting.app import create_runtime
from hub_reporting.rebuild import clear
from hub_shared.auth import Role
from hub_shared.envelope import Envelope, wrap
from hub_shared.events import (Aspects, CaseAnswered, CaseRegistered, CaseReopened, CaseRouted, CaseTransferred, RatingSubmitted,
                               RoutingDecision, Target)
from hub_shared.testing import bearer, deliver, deliver_batch, sqlite_runtime

AZAR_1405 = datetime(2026, 11, 25, 8, tzinfo=UTC)  # 4 Azar 1405 (month 09)
UNIT = "labour/tehran/rey/performance-office"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def case_events(n: int, unit: str = UNIT, topic: str = "employment", late: bool = False, about: str | None = None,
                answered_after: timedelta = timedelta(hours=48), calendar: str | None = None) -> list[Envelope]:
    case_id, code = uuid.uuid4(), f"{n:011d}"
    at = AZAR_1405 + timedelta(hours=n)
    deadline = at + timedelta(days=-1 if late else 30)
    events = [CaseRegistered(case_id=case_id, tracking_code=code, case_number=f"1405-{n:08d}", kind="complaint", channel="web",
                             target=Target(agency="labour", province="tehran", county="rey"), registered_at=at, topic_id=topic,
                             about_employee=about),
              CaseRouted(case_id=case_id, tracking_code=code, unit_id=unit, unit_name="واحد ری", working_days=30, deadline_at=deadline,
                         deadline_jalali="x", routed_at=at, decision=RoutingDecision(rule="r", explanation="e"), calendar=calendar),
              CaseAnswered(case_id=case_id, tracking_code=code, unit_id=unit, outcome="upheld", answer_fa="پاسخ", legal_grounds="ماده ۱",
                           answered_at=at + answered_after)]
    envelopes = [wrap(e, f"/hub/{s}") for e, s in zip(events, ("intake", "routing", "followup"))]
    return [Envelope(**{**e.__dict__, "time": at + timedelta(minutes=i), "traceparent": TRACEPARENT}) for i, e in enumerate(envelopes)]


async def get(runtime, path: str, headers: dict | None = None, **params) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
        return await client.get(path, params=params, headers=headers if headers is not None else bearer(Role.national_supervisor))


async def dump(runtime) -> dict:
    tables = ("reporting_case_status", "reporting_case_history", "reporting_case_fact", "reporting_status_change",
              "reporting_rating_unit_day", "reporting_rating_employee_day", "reporting_rating_unit_month",
              "reporting_rating_employee_month")
    async with runtime.engine.connect() as connection:
        return {t: sorted(map(tuple, (await connection.execute(text(f"SELECT * FROM {t}"))).all()), key=str) for t in tables}


def rating(score: int, unit: str = UNIT, employee: str | None = "e-7", day: date = date(2026, 11, 25), **aspects) -> RatingSubmitted:
    return RatingSubmitted(rating_id=uuid.uuid4(), unit_id=unit, employee_id=employee, score=score,
                           aspects=Aspects(**{"respect": score, **aspects}), rated_on=day)


async def test_rebuild_from_the_same_events_gives_identical_tables(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    events = [e for n in range(1, 4) for e in case_events(n)] + [wrap(rating(s), "/hub/intake") for s in (3, 4, 5)]
    await deliver(runtime, *events, *events[:2])  # a redelivery changes nothing
    before = await dump(runtime)
    assert len(before["reporting_case_fact"]) == 3 and before["reporting_rating_unit_day"][0][2] == 3
    assert before["reporting_rating_unit_month"] == [(UNIT, "2026-11-22", 3, 12, 3, 12, 0, 0, 0, 0, 0, 0)]  # Azar 1405 starts 22 Nov
    await clear(runtime)
    assert not (await dump(runtime))["reporting_case_fact"]
    await deliver(runtime, *events)
    assert await dump(runtime) == before


async def test_one_batch_projects_as_the_same_facts_one_at_a_time(tmp_path, caplog) -> None:
    """A poll brings many cases' facts at once; they are read and written a batch at a time, and must come out as
    if applied one by one: same rows, the change feed numbered in the order of the facts, redeliveries ignored."""
    first, second, third = case_events(1), case_events(2), case_events(3)
    facts = [*first, second[1], second[0], *third[:2], second[2], third[2]]  # case 2's routing comes before its registration
    one_by_one = sqlite_runtime(create_runtime, "reporting", tmp_path / "one")
    await deliver(one_by_one, *facts)
    batched = sqlite_runtime(create_runtime, "reporting", tmp_path / "batch")
    await deliver_batch(batched, "reporting", *facts[:3])
    await deliver_batch(batched, "reporting", *facts, first[1])  # a redelivered batch, and one fact twice, change nothing
    assert "retrying one by one" not in caplog.text  # each batch went through whole, not event by event after a failure
    assert await dump(batched) == await dump(one_by_one)
    feed = (await get(batched, "/api/v1/changes", bearer(Role.presidential_centre), limit=100)).json()["changes"]
    assert [(c["tracking_code"], c["status"]) for c in feed] == [
        ("00000000001", "registered"), ("00000000001", "referred"), ("00000000001", "answered"), ("00000000002", "referred"),
        ("00000000003", "registered"), ("00000000003", "referred"), ("00000000002", "answered"), ("00000000003", "answered")]


async def test_monthly_report_counts_times_and_ranks_and_exports(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    late = uuid.uuid4()
    events = [e for n in range(1, 11) for e in case_events(n, late=n > 8)]
    await deliver(runtime, *events, CaseReopened(case_id=events[0].data.case_id, tracking_code=events[0].data.tracking_code,
                                                 reopenings=1, reopened_at=AZAR_1405 + timedelta(days=3)))
    body = (await get(runtime, "/api/v1/reports/cases", period="1405-09", unit="labour/tehran", group_by="unit")).json()
    totals = body["totals"]
    assert totals["received"] == 10 and totals["answered"] == 10 and totals["overdue"] == 2 and totals["on_time_rate"] == 0.8
    assert totals["response_hours_median"] == 48.0 and totals["reopen_rate"] == 0.1 and late
    assert body["groups"][0]["key"] == "labour/tehran/rey" and body["ranking"][0]["key"] == UNIT
    assert body["top_topics"][0] == {"topic_id": "employment", "cases": 10, "previous": 0, "change": 10}
    assert (await get(runtime, "/api/v1/reports/cases", period="1405-09", min_cases=11)).json()["ranking"] == []
    for period in ("1405-Q3", "1405-H2", "1405"):
        assert (await get(runtime, "/api/v1/reports/cases", period=period)).json()["totals"]["received"] == 10
    ranged = await get(runtime, "/api/v1/reports/cases", **{"from": "1405-09-01", "to": "1405-09-03"})
    assert ranged.json()["totals"]["received"] == 0
    csv = await get(runtime, "/api/v1/reports/cases", period="1405-09", group_by="kind", format="csv")
    assert csv.headers["content-type"].startswith("text/csv") and "دریافتی" in csv.content.decode("utf-8-sig")
    xlsx = await get(runtime, "/api/v1/reports/cases", period="1405-09", format="xlsx")
    assert load_workbook(io.BytesIO(xlsx.content)).active["B1"].value == "دریافتی"


async def test_response_time_in_working_days_skips_the_weekend_holidays_and_closures(tmp_path, monkeypatch) -> None:
    closures = tmp_path / "holidays.yaml"
    closures.write_text("add: [{date: 2026-11-29, reason: تعطیلی به دلیل آلودگی هوا}]\n", encoding="utf-8")
    monkeypatch.setenv("HUB_HOLIDAYS_FILE", str(closures))
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    # registered on Wednesday 25 November: one answered on Friday (Thursday and Friday off: no working day), one
    # on Monday 30 (Saturday 28 is one, Sunday 29 closed, Monday 30 two)
    await deliver(runtime, *case_events(1), *case_events(2, answered_after=timedelta(days=5)))
    body = (await get(runtime, "/api/v1/reports/cases", period="1405-09", unit="labour/tehran", group_by="unit")).json()
    totals, group = body["totals"], body["groups"][0]
    assert (totals["response_hours_median"], totals["response_hours_p90"]) == (84.0, 112.8)
    assert (totals["response_working_days_median"], totals["response_working_days_p90"]) == (1.0, 1.8)
    assert group["response_working_days_median"] == 1.0 and body["response_working_days_unit"].startswith("working days")
    csv = (await get(runtime, "/api/v1/reports/cases", period="1405-09", format="csv")).content.decode("utf-8-sig")
    exported = dict(zip(*(line.split(",") for line in csv.splitlines()[:2])))
    assert (exported["میانه زمان پاسخ (روز کاری)"], exported["صدک ۹۰ زمان پاسخ (روز کاری)"]) == ("1.0", "1.8")


async def test_response_time_in_working_days_counts_on_the_calendar_of_the_unit_holding_the_case(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    # registered on Wednesday 25 November 2026, answered on Friday 27: no working day where Thursday is off,
    # one (Thursday 26) for a unit that works on Thursdays
    standard, thursday_working = case_events(1), case_events(2, calendar="iran-thursday-working")
    moved = case_events(3, answered_after=timedelta(days=5))  # moved to a unit on Thursdays, which answers it
    health = "health/tehran/performance-office"
    await deliver(runtime, *standard, *thursday_working, *moved[:2], CaseTransferred(
        case_id=moved[0].data.case_id, tracking_code=moved[0].data.tracking_code, from_unit=UNIT, unit_id=health,
        unit_name="دفتر", agency="health", transfers=1, deadline_at=moved[1].data.deadline_at, reason="موضوع بیمه درمان است",
        by="e-1", transferred_at=AZAR_1405 + timedelta(hours=5), calendar="iran-thursday-working"),
        moved[2].data.model_copy(update={"unit_id": health}))
    async with runtime.engine.connect() as connection:
        facts = dict((await connection.execute(text("SELECT tracking_code, calendar FROM reporting_case_fact"))).all())
    assert facts == {"00000000001": None, "00000000002": "iran-thursday-working", "00000000003": "iran-thursday-working"}
    body = (await get(runtime, "/api/v1/reports/cases", period="1405-09", unit="labour/tehran", group_by="unit")).json()
    assert [(g["key"], g["response_working_days_median"]) for g in body["groups"]] == [("labour/tehran/rey", 0.5)]
    # Mon 30 Nov: Thu 26, Sat 28, Sun 29, Mon 30 on the Thursday-working calendar (3 where Thursday is off)
    national = (await get(runtime, "/api/v1/reports/cases", period="1405-09", group_by="unit")).json()
    assert [(g["key"], g["response_working_days_median"]) for g in national["groups"]] == [("health", 4.0), ("labour", 0.5)]


@pytest.mark.parametrize("params,code", [
    ({"period": "1405-13"}, "unknown_period"), ({"period": "1405-Q5"}, "unknown_period"), ({"period": "last-month"}, "unknown_period"),
    ({"from": "1405-06-31", "to": "1405-01-01"}, "inverted_range"), ({"from": "1405-07-31", "to": "1405-08-01"}, "unknown_date"),
    ({"period": "1405-09", "unit": "labour/nowhere"}, "unknown_unit"), ({}, "missing_period")])
async def test_bad_input_gets_a_reason(tmp_path, params, code) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    response = await get(runtime, "/api/v1/reports/cases", **params)
    assert response.status_code == 422 and response.json()["error"]["code"] == code and response.json()["error"]["message_fa"]


async def test_reports_are_within_the_callers_subtree(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    outside = await get(runtime, "/api/v1/reports/cases", bearer(Role.provincial_supervisor, "labour/isfahan"), period="1405", unit="labour/tehran")
    assert outside.status_code == 403
    own = await get(runtime, "/api/v1/reports/cases", bearer(Role.unit_responder, "labour/tehran"), period="1405")
    assert own.status_code == 200 and own.json()["unit"] == "labour/tehran"


async def test_satisfaction_drills_down_hides_small_groups_and_links_on_time_rate(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    other = "labour/tehran/shemiranat/performance-office"
    await deliver(runtime, *[e for n in range(1, 3) for e in case_events(n)],
                  *[rating(s) for s in (5, 4, 5, 4, 5, 3)], *[rating(2, unit=other, employee=None)] * 2,
                  *[rating(1, day=date(2026, 10, 25)) for _ in range(5)])
    body = (await get(runtime, "/api/v1/satisfaction", unit="labour/tehran", period="1405-09")).json()
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["labour/tehran/shemiranat"] == {"key": "labour/tehran/shemiranat", "hidden": "suppressed", "ratings": None, "average": None,
                                                  "aspects": None, "previous_average": None, "trend": None, "on_time_rate": None}
    # Rey's 6 are hidden too: else Tehran's 8 less Rey's 6 would give Shemiranat's 2 away, and their scores
    assert groups["labour/tehran/rey"]["hidden"] == "suppressed" and groups["labour/tehran/rey"]["ratings"] is None
    total = body["total"]
    assert total["ratings"] == 8 and total["average"] == 3.75 and total["previous_average"] == 1.0 and total["on_time_rate"] == 1.0
    assert (await get(runtime, "/api/v1/satisfaction", unit="labour/tehran/rey", period="1405-09")).json()["total"]["hidden"] == "suppressed"
    national = (await get(runtime, "/api/v1/satisfaction", period="1405-09")).json()
    assert [g["key"] for g in national["groups"]] == ["labour"]
    staff = await get(runtime, "/api/v1/satisfaction", bearer(Role.office_manager, UNIT), unit=UNIT, period="1405-09", by="employee")
    assert staff.json()["groups"][0]["key"] == f"{UNIT}#e-7"
    machine = await get(runtime, "/api/v1/satisfaction", bearer(Role.presidential_centre), period="1405-09", by="employee")
    assert machine.status_code == 403


async def test_conduct_hotspots_rate_per_hundred_cases(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    await deliver(runtime, *[e for n in range(1, 11) for e in case_events(n, topic="staff-conduct" if n <= 3 else "employment",
                                                                          about="e-9" if n == 4 else None)])
    body = (await get(runtime, "/api/v1/reports/conduct", period="1405-09")).json()
    assert body["hotspots"] == [{"unit_id": UNIT, "cases": 10, "conduct_cases": 4, "rate_per_100": 40.0}]
    assert body["employees"] == [{"employee_id": "e-9", "unit_id": UNIT, "conduct_cases": 1}]


async def test_change_feed_pages_and_resumes_in_order_within_the_subtree(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    first = case_events(1)
    await deliver(runtime, *first, *case_events(2, unit="labour/isfahan/performance-office"))
    seen, cursor = [], None
    while True:
        page = (await get(runtime, "/api/v1/changes", bearer(Role.presidential_centre), limit=2, **({"cursor": cursor} if cursor else {}))).json()
        seen += [(c["tracking_code"], c["status"]) for c in page["changes"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [("00000000001", "registered"), ("00000000001", "referred"), ("00000000001", "answered"),
                    ("00000000002", "registered"), ("00000000002", "referred"), ("00000000002", "answered")]
    await deliver(runtime, CaseTransferred(case_id=first[0].data.case_id, tracking_code="00000000001", from_unit=UNIT, unit_id=UNIT,
                                           unit_name="x", agency="labour", transfers=1, deadline_at=AZAR_1405, reason="r", by="p",
                                           transferred_at=AZAR_1405))
    more = (await get(runtime, "/api/v1/changes", bearer(Role.presidential_centre), cursor=cursor)).json()
    assert [c["status"] for c in more["changes"]] == ["referred"]
    scoped = (await get(runtime, "/api/v1/changes", bearer(Role.provincial_supervisor, "labour/isfahan"))).json()
    assert {c["tracking_code"] for c in scoped["changes"]} == {"00000000002"}
    assert (await get(runtime, "/api/v1/changes", cursor="garbage!")).status_code == 422


async def test_timeline_names_service_time_and_trace(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    events = case_events(1)
    await deliver(runtime, *events)
    for ref in (str(events[0].data.case_id), "00000000001"):
        body = (await get(runtime, f"/api/v1/cases/{ref}/timeline", bearer(Role.expert, "labour/tehran"))).json()
        assert [e["service"] for e in body["events"]] == ["/hub/intake", "/hub/routing", "/hub/followup"]
        assert body["events"][0]["trace_url"] == "http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"
        assert body["events"][0]["at_jalali"].startswith("1405/09/04")
    assert (await get(runtime, "/api/v1/cases/00000000001/timeline", bearer(Role.expert, "labour/isfahan"))).status_code == 403
    assert (await get(runtime, f"/api/v1/cases/{uuid.uuid4()}/timeline")).status_code == 404


def test_split_takes_whole_jalali_months_and_leaves_the_edges_by_day() -> None:
    # 1405-06-20 .. 1405-09-10: Shahrivar partly, Mehr and Aban whole, Azar partly
    months, days = satisfaction.split(date(2026, 9, 11), date(2026, 12, 1))
    assert months == [date(2026, 9, 23), date(2026, 10, 23)]
    assert days == [(date(2026, 9, 11), date(2026, 9, 22)), (date(2026, 11, 22), date(2026, 12, 1))]
    year = satisfaction.split(date(2026, 3, 21), date(2027, 3, 20))  # 1405, whole
    assert len(year[0]) == 12 and year[0][0] == date(2026, 3, 21) and year[0][-1] == date(2027, 2, 20) and year[1] == []
    assert satisfaction.split(date(2026, 11, 25), date(2026, 11, 25)) == ([], [(date(2026, 11, 25), date(2026, 11, 25))])


async def test_satisfaction_from_month_rows_equals_the_sum_of_day_rows(tmp_path, monkeypatch) -> None:
    runtime = sqlite_runtime(create_runtime, "reporting", tmp_path)
    other = "labour/tehran/shemiranat/performance-office"
    ratings, start = [], date(2026, 6, 1)  # 11 Khordad 1405 .. 29 Azar 1405: partial and whole months, both units
    for n in range(200):
        day = start + timedelta(days=(n * 7) % 201)
        ratings.append(rating(1 + n % 5, unit=(UNIT, other)[n % 3 == 0], employee=(None, "e-1", "e-2")[n % 3], day=day,
                              speed=(None, 1 + n % 4)[n % 2], conduct=1 + (n * 3) % 5))
    await deliver(runtime, *ratings)
    queries = [{"from": "1405-06-20", "to": "1405-09-10"}, {"from": "1405-07-01", "to": "1405-08-30"},
               {"from": "1405-05-15", "to": "1405-05-16"}, {"from": "1405-04-03", "to": "1405-09-29"},
               {"period": "1405-08"}, {"period": "1405-Q3"}, {"period": "1405-H2"}, {"period": "1405"}]
    staff = bearer(Role.national_supervisor)
    answers = {}
    for use_rollup in (True, False):
        monkeypatch.setattr(satisfaction, "USE_ROLLUP", use_rollup)
        answers[use_rollup] = [(await get(runtime, "/api/v1/satisfaction", staff, unit=unit, by=by, **query)).json()
                               for query in queries for unit in ("national", "labour/tehran", UNIT)
                               for by in ("unit", "employee")]
    assert answers[True] == answers[False]
    assert sum(1 for answer in answers[True] if answer["total"].get("ratings")) > 20  # the comparison covers real figures
    assert any(answer["total"].get("trend") is not None for answer in answers[True])


async def test_a_registration_that_arrives_after_the_routing_counts_the_case_as_if_in_order(tmp_path) -> None:
    """After the broker lost its memory, each service's outbox sends its facts again on its own: routing's
    `case routed` can come before intake's `case registered`. Status, statistics and feed end up the same."""
    for folder in ("in-order", "swapped"):
        (tmp_path / folder).mkdir()
    in_order, swapped = (sqlite_runtime(create_runtime, "reporting", tmp_path / folder) for folder in ("in-order", "swapped"))
    cases = [case_events(n, late=n > 3) for n in range(1, 6)]
    await deliver(in_order, *(e for events in cases for e in events))
    await deliver(swapped, *(e for registered, routed, answered in cases for e in (routed, registered, routed, answered)))
    for period in ("1405-09", "1405"):
        params = {"period": period, "unit": "labour/tehran", "group_by": "unit"}
        expected = (await get(in_order, "/api/v1/reports/cases", **params)).json()
        assert expected["totals"]["received"] == 5 and expected["totals"]["overdue"] == 2
        assert (await get(swapped, "/api/v1/reports/cases", **params)).json() == expected
    assert (await dump(swapped))["reporting_case_status"] == (await dump(in_order))["reporting_case_status"]
    code = cases[0][0].data.tracking_code
    feed = (await get(swapped, "/api/v1/changes", bearer(Role.presidential_centre))).json()
    assert sorted(c["status"] for c in feed["changes"] if c["tracking_code"] == code) == ["answered", "referred"]


async def test_ratings_summed_in_one_batch_give_the_rows_they_give_one_by_one(tmp_path) -> None:
    from hub_reporting.satisfaction import project_ratings

    ratings = [wrap(rating(score, employee=employee, day=day, speed=speed), "/hub/intake")
               for score, employee, day, speed in [(5, "e-1", date(2026, 11, 25), 4), (3, "e-1", date(2026, 11, 25), None),
                                                   (2, None, date(2026, 11, 25), 1), (4, "e-2", date(2026, 11, 26), 5),
                                                   (1, "e-1", date(2026, 12, 30), None)]]  # the last in another Jalali month
    for folder in ("alone", "together"):
        (tmp_path / folder).mkdir()
    alone, together = (sqlite_runtime(create_runtime, "reporting", tmp_path / folder) for folder in ("alone", "together"))
    await deliver(alone, *ratings)
    async with together.sessions() as session, session.begin():
        await project_ratings(session, [envelope for envelope in ratings])
    expected = await dump(alone)
    assert expected["reporting_rating_unit_day"] and (await dump(together)) == expected
