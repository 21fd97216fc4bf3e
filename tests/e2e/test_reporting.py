"""Reporting through five processes and a real broker: the monthly case report (JSON and XLSX), the change feed
for the presidential centre, the case timeline (over HTTP and `hub trace`), and satisfaction that stays hidden
until a unit has enough ratings."""

import io
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import jdatetime
import pytest
from openpyxl import load_workbook
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.jalali import TEHRAN
from hub_shared.testing import bearer
from tests.e2e.helpers import submit, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.broker]
CENTRE = bearer(Role.presidential_centre)
SUPERVISOR = bearer(Role.national_supervisor, subject="e2e-reporting")
RATED = "labour/fars/marvdasht/performance-office"  # no case of these tests is routed to Fars
NEIGHBOUR = "labour/fars/shiraz/performance-office"
JALALI_TIME = re.compile(r"^14\d\d/\d\d/\d\d \d\d:\d\d$")
EXPECTED = ("ir.hub.case.registered.v1", "ir.hub.case.routed.v1", "ir.hub.case.deadline-scheduled.v1")


def this_month() -> str:
    today = jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date())
    return f"{today.year}-{today.month:02d}"


def get(hub, path: str, headers: dict = SUPERVISOR, **params) -> httpx.Response:
    return httpx.get(f"{hub.url('reporting')}{path}", params=params, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def cases(hub) -> list[dict]:
    """Three complaints, each referred to its unit (registered, routed, deadline scheduled)."""
    made = [submit(hub) for _ in range(3)]
    for case in made:
        wait_for_status(hub, case["tracking_code"], "referred", history=3)
    return made


def test_the_monthly_case_report_counts_the_cases_and_exports_a_persian_workbook(hub, cases) -> None:
    for headers in (CENTRE, SUPERVISOR):
        report = get(hub, "/api/v1/reports/cases", headers, period=this_month(), unit="national", group_by="unit")
        assert report.status_code == 200, report.text
        body = report.json()
        assert body["totals"]["received"] >= len(cases) and body["period"]["label"] == this_month()
        assert any(group["key"] == "labour" and group["received"] >= len(cases) for group in body["groups"])
    xlsx = get(hub, "/api/v1/reports/cases", period=this_month(), unit="national", group_by="kind", format="xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["دریافتی", "پاسخ داده‌شده", "دارای تأخیر"] and "گروه" in header
    assert "میانه زمان پاسخ (روز کاری)" in header and "میانه زمان پاسخ (ساعت)" in header
    key, received = header.index("گروه"), header.index("دریافتی")
    complaints = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[key] == "complaint"]
    assert complaints and complaints[0][received] >= len(cases)


def test_the_change_feed_gives_each_status_change_once_in_order(hub, cases) -> None:
    seen, cursor = [], None
    while True:
        page = get(hub, "/api/v1/changes", CENTRE, limit=5, **({"cursor": cursor} if cursor else {})).json()
        seen += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    for case in cases:
        statuses = [change["status"] for change in seen if change["tracking_code"] == case["tracking_code"]]
        assert statuses[:2] == ["registered", "referred"], statuses
    ours = [change for change in seen if change["tracking_code"] in {case["tracking_code"] for case in cases}]
    # Kafka orders a case's events, not one case's against another's (they sit on different partitions), so
    # the feed promises each case's changes in order and every change once, not the order cases were filed in.
    assert sorted(c["tracking_code"] for c in ours if c["status"] == "registered") == sorted(case["tracking_code"] for case in cases)
    assert len({(c["tracking_code"], c["status"], c["at"]) for c in seen}) == len(seen), "no change is given twice"
    assert all(JALALI_TIME.match(change["at_jalali"]) for change in ours)
    again = get(hub, "/api/v1/changes", CENTRE, cursor=cursor).json()
    known = {(c["tracking_code"], c["status"], c["at"]) for c in seen}
    assert not [c for c in again["changes"] if (c["tracking_code"], c["status"], c["at"]) in known]
    assert again["changes"] or again["next_cursor"] == cursor


def test_the_timeline_shows_each_event_with_service_jalali_time_and_trace(hub, cases) -> None:
    case = cases[0]
    body = get(hub, f"/api/v1/cases/{case['tracking_code']}/timeline").json()
    events = {event["event_type"]: event for event in body["events"]}
    assert set(EXPECTED) <= set(events) and body["tracking_code"] == case["tracking_code"]
    assert [e["event_type"] for e in body["events"] if e["event_type"] in EXPECTED] == list(EXPECTED)
    assert events[EXPECTED[0]]["service"] == "/hub/intake" and events[EXPECTED[1]]["service"] == "/hub/routing"
    for event in events.values():
        assert event["service"].startswith("/hub/") and JALALI_TIME.match(event["at_jalali"])
        assert re.fullmatch(r"[0-9a-f]{32}", event["trace_id"]) and event["trace_id"] in event["trace_url"]
    assert len({events[t]["trace_id"] for t in EXPECTED}) == 1, "one trace follows the case"


def test_hub_trace_prints_the_timeline_in_the_terminal(hub, cases) -> None:
    case = cases[1]
    hub_command = Path(sys.executable).with_name("hub")
    env = {**os.environ, "HUB_REPORTING_URL": hub.url("reporting"), "COLUMNS": "300", "HUB_ENVIRONMENT": "development"}
    env.pop("HUB_TOKEN", None)
    done = subprocess.run([str(hub_command), "trace", case["tracking_code"]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert case["tracking_code"] in done.stdout and "referred" in done.stdout
    for event in ("case.registered.v1", "case.routed.v1", "case.deadline-scheduled.v1"):
        assert event in done.stdout
    assert "/hub/intake" in done.stdout and "/hub/routing" in done.stdout
    trace_id = get(hub, f"/api/v1/cases/{case['tracking_code']}/timeline").json()["events"][0]["trace_id"]
    assert trace_id in done.stdout
    unknown = subprocess.run([str(hub_command), "trace", "99999999999"], env=env, capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 1 and "404" in unknown.stdout


def rate(hub, unit: str, score: int) -> None:
    response = httpx.post(f"{hub.url('intake')}/api/v1/feedback", timeout=10,
                          json={"unit_id": unit, "employee_id": "p-4410", "score": score, "aspects": {"respect": score, "speed": 3}})
    assert response.status_code == 202, response.text


@retry(stop=stop_after_delay(20), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def satisfaction_once(hub, total: int) -> dict:
    body = get(hub, "/api/v1/satisfaction", unit="labour/fars", period=this_month()).json()
    assert body["total"]["ratings"] == total, body["total"]
    return {group["key"]: group for group in body["groups"]}


def test_satisfaction_stays_hidden_until_the_unit_has_enough_ratings(hub) -> None:
    for score in (5, 4, 4, 3):
        rate(hub, RATED, score)
    for score in (2, 2, 3, 2, 1):
        rate(hub, NEIGHBOUR, score)
    groups = satisfaction_once(hub, total=9)  # all nine counted in the province, the four in Marvdasht not shown,
    assert groups["labour/fars/marvdasht"]["hidden"] == "suppressed" and groups["labour/fars/marvdasht"]["average"] is None
    assert groups["labour/fars/shiraz"]["hidden"] == "suppressed"  # nor Shiraz's five: 9 less 5 would give the four away
    rate(hub, RATED, 4)
    groups = satisfaction_once(hub, total=10)
    shown = groups["labour/fars/marvdasht"]
    assert shown["hidden"] is None and shown["ratings"] == 5 and shown["average"] == 4.0
    assert groups["labour/fars/shiraz"]["ratings"] == 5 and groups["labour/fars/shiraz"]["average"] == 2.0
    assert shown["aspects"] == {"respect": 4.0, "speed": 3.0, "quality": None, "conduct": None}
