"""The managers' dashboards and the centre's view, rendered from canned answers of reporting: each call carries
the signed-in user's own token, the pages show what reporting answered (hidden groups stay hidden, refusals in
reporting's words), the live stream sends the figures again when they change and stops when the session ends,
and the downloads are reporting's own files."""

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from hub_shared.auth import AuthSettings, Role, verify
from hub_shared.passwords import hash_password
from hub_shared.settings import HubSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.pages import dashboards
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Upstream

PASSWORD = "a long enough secret"
MANAGER = ("karimi", Role.office_manager, "labour/fars")
NAMES = {"labour/fars": "اداره کل فارس", "labour/fars/marvdasht": "اداره مرودشت", "labour/fars/shiraz": "اداره شیراز",
         "labour/fars/kazerun": "اداره کازرون"}
PERIOD = {"label": "1405-09", "from_jalali": "1405-09-01", "to_jalali": "1405-09-30",
          "start_utc": "2026-11-21T20:30:00Z", "end_utc": "2026-12-21T20:30:00Z"}


def shown(key: str, ratings: int, average: float) -> dict:
    return {"key": key, "hidden": None, "ratings": ratings, "average": average, "previous_average": 3.5,
            "trend": round(average - 3.5, 3), "aspects": {"respect": 4.5, "speed": None, "quality": 4.0, "conduct": 4.0},
            "on_time_rate": 0.75}


def satisfaction(marvdasht_ratings: int = 6, average: float = 4.17) -> dict:
    """As reporting answers: Shiraz has 3 ratings, so it is hidden and so is Kazerun (7), the smallest group shown
    beside it, else the total less Marvdasht would give Shiraz away."""
    return {"unit": "labour/fars", "by": "unit", "period": PERIOD, "min_group": 5,
            "total": shown("labour/fars", marvdasht_ratings + 10, 4.0),
            "groups": [shown("labour/fars/marvdasht", marvdasht_ratings, average), {"key": "labour/fars/shiraz", "hidden": "suppressed"},
                       {"key": "labour/fars/kazerun", "hidden": "suppressed"}]}


def figures(received: int, answered: int, overdue: int, on_time: float | None, days: float | None, key: str | None = None) -> dict:
    body = {"received": received, "answered": answered, "overdue": overdue, "response_hours_median": None, "response_hours_p90": None,
            "response_working_days_median": days, "response_working_days_p90": None, "on_time_rate": on_time,
            "reopen_rate": 0.0, "transfers": 0}
    return body | ({"key": key} if key else {})


def case_report(unit: str = "labour/fars", month: str = "1405-09") -> dict:
    marvdasht, shiraz = figures(12, 10, 3, 0.7, 9.0, "labour/fars/marvdasht"), figures(20, 18, 1, 0.95, 4.0, "labour/fars/shiraz")
    return {"unit": unit, "period": PERIOD | {"label": month}, "previous_period": PERIOD, "totals": figures(32, 28, 4, 0.857, 5.0),
            "group_by": "unit", "groups": [marvdasht, shiraz], "min_cases": 10,
            "top_topics": [{"topic_id": "wages-labour-relations", "cases": 14, "previous": 9, "change": 5},
                           {"topic_id": "staff-conduct", "cases": 4, "previous": 6, "change": -2}],
            "ranking": [shiraz | {"rank": 1}, marvdasht | {"rank": 2}],
            "escalations": 4, "escalations_by_unit": [{"key": "labour/fars/marvdasht", "escalations": 4}]}


CONDUCT = {"unit": "labour/fars", "period": PERIOD, "topics": ["staff-conduct", "bribery-corruption"],
           "units": [{"unit_id": "labour/fars/marvdasht", "cases": 12, "conduct_cases": 3, "rate_per_100": 25.0}],
           "hotspots": [], "employees": [{"employee_id": "emp-204", "unit_id": "labour/fars/marvdasht", "conduct_cases": 2}]}


class Reporting:
    """Reporting as the stubbed Upstream sees it: the answers by path, and every call with the user it was made for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, tuple]] = []
        self.answers: dict[str, Answer] = {}

    def answer(self, path: str, params: dict) -> Answer:
        if path == "/api/v1/reports/cases" and "group_by" not in params:
            return Answer(200, case_report(month=params["period"]))
        return self.answers.get(path, Answer(404, {}))


@pytest.fixture
def reporting(monkeypatch) -> Reporting:
    stub = Reporting()

    async def as_staff(self, client, path, token, route, params=None):
        principal = verify(AuthSettings(), token)
        stub.calls.append((path, dict(params or {}), (principal.subject, principal.role, principal.unit)))
        return stub.answer(path, params or {})

    async def unit_name(self, unit_id):
        return {"name_fa": NAMES[unit_id], "name_en": None} if unit_id in NAMES else None

    monkeypatch.setattr(Upstream, "as_staff", as_staff)
    monkeypatch.setattr(Upstream, "unit_name", unit_name)
    return stub


@pytest.fixture
def users(tmp_path: Path) -> UserRegistry:
    registry = UserRegistry(tmp_path / "users.json")
    name, role, unit = MANAGER
    registry.add(User(subject=name, role=role, unit=unit, password_hash=hash_password(PASSWORD)))
    registry.add(User(subject="expert", role=Role.expert, unit="labour/fars", password_hash=hash_password(PASSWORD)))
    return registry


@asynccontextmanager
async def signed_in(users: UserRegistry, name: str = "karimi", refresh: float = 2) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=users.path, dashboard_refresh_seconds=refresh))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as client:
        form = await client.get("/staff/sign-in")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)[1]
        answer = await client.post("/staff/sign-in", data={"form_token": token, "username": name, "password": PASSWORD})
        assert answer.status_code == 303
        yield client


def row_of(html: str, label: str) -> str:
    return re.search(rf"<tr[^>]*><th scope=\"row\">(?:<a [^>]+>)?{label}.*?</tr>", html, re.S)[0]


async def test_satisfaction_shows_reportings_groups_hides_small_ones_and_drills_down(users, reporting) -> None:
    reporting.answers["/api/v1/satisfaction"] = Answer(200, satisfaction())
    async with signed_in(users) as client:
        page = await client.get("/staff/satisfaction", params={"period": "۱۴۰۵-۰۹"})
    assert page.status_code == 200, page.text
    path, params, who = reporting.calls[0]
    assert (path, params, who) == ("/api/v1/satisfaction", {"period": "1405-09", "by": "unit"}, MANAGER)
    marvdasht = row_of(page.text, "اداره مرودشت")
    assert "<td>۶</td>" in marvdasht and "<td>۴٫۱۷</td>" in marvdasht and "<td>۷۵٫۰٪</td>" in marvdasht
    assert 'href="/staff/satisfaction?unit=labour%2Ffars%2Fmarvdasht&amp;period=1405-09"' in marvdasht
    for hidden in ("اداره شیراز", "اداره کازرون"):  # too few, and the one hidden beside it: told apart by nothing
        row = row_of(page.text, hidden)
        assert row.count('<td class="suppressed">پنهان</td>') == 9 and not re.search(r"<td>[۰-۹]", row), "a hidden group shows no figure"
    assert "کمتر از ۵</td>" not in page.text, "a hidden group may have any number of ratings"
    assert 'id="total-ratings">۱۶<' in page.text
    assert 'data-live="/staff/satisfaction/events?period=1405-09&amp;by=unit&amp;unit=labour%2Ffars"' in page.text
    assert '<script src="/static/js/dashboard.js" defer></script>' in page.text and "<script>" not in page.text
    assert "<svg class=\"chart\"" in page.text and 'class="bar hidden"' in page.text


async def test_the_satisfaction_table_downloads_as_shown_with_small_groups_in_words(users, reporting) -> None:
    reporting.answers["/api/v1/satisfaction"] = Answer(200, satisfaction())
    async with signed_in(users) as client:
        page = await client.get("/staff/satisfaction")
        link = re.search(r'href="(/staff/satisfaction/download.csv\?[^"]+)"', page.text)[1].replace("&amp;", "&")
        answer = await client.get(link)
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert lines[2][:3] == ["اداره مرودشت", "6", "4.17"]
    assert lines[3] == ["اداره شیراز", *["پنهان"] * 9] and lines[4] == ["اداره کازرون", *["پنهان"] * 9]


async def test_a_hidden_total_and_only_hidden_groups_show_no_figure_anywhere(users, reporting) -> None:
    """One unit below, with 3 ratings: reporting hides the unit and the total, which would be the unit's."""
    reporting.answers["/api/v1/satisfaction"] = Answer(200, {
        "unit": "labour/fars", "by": "unit", "period": PERIOD, "min_group": 5, "total": {"key": "labour/fars", "hidden": "suppressed"},
        "groups": [{"key": "labour/fars/marvdasht", "hidden": "suppressed"}]})
    async with signed_in(users) as client:
        page = await client.get("/staff/satisfaction", params={"period": "1405-09"})
        client.cookies.set("hub_lang", "en")
        english = await client.get("/staff/satisfaction", params={"period": "1405-09"})
    assert page.status_code == 200, page.text
    assert 'id="total-ratings">پنهان<' in page.text and 'id="total-average">پنهان<' in page.text
    table = re.search(r'<table class="figures".*?</table>', page.text, re.S)[0]
    assert table.count('<td class="suppressed">پنهان</td>') == 18 and not re.search(r"<td>[۰-۹0-9]", table)
    assert 'class="bar hidden"' in page.text and "گروه یا جمعی که با تفریق آن را آشکار کند" in page.text
    assert 'id="total-ratings">hidden<' in english.text and "fewer than 5</td>" not in english.text


async def test_a_refusal_or_a_bad_period_is_shown_in_reportings_words(users, reporting) -> None:
    reporting.answers["/api/v1/satisfaction"] = Answer(403, {"error": {
        "code": "forbidden", "message_fa": "رضایت به تفکیک کارمند فقط برای کارکنان است.", "message_en": "staff only"}})
    async with signed_in(users) as client:
        refused = await client.get("/staff/satisfaction", params={"by": "employee"})
        assert refused.status_code == 403 and "رضایت به تفکیک کارمند فقط برای کارکنان است." in refused.text
        assert reporting.calls[-1][1]["by"] == "employee"
        reporting.answers["/api/v1/satisfaction"] = Answer(422, {"error": {
            "code": "unknown_period", "message_fa": "قالب دوره شناخته نیست.", "message_en": "Unknown period"}})
        bad = await client.get("/staff/satisfaction", params={"period": "1405-13"})
    assert bad.status_code == 422 and 'class="error-summary"' in bad.text and "قالب دوره شناخته نیست." in bad.text
    assert 'aria-invalid="true"' in bad.text


async def test_an_unknown_unit_is_named_at_the_top_of_the_report_not_beside_the_period(users, reporting) -> None:
    reporting.answers["/api/v1/reports/cases"] = Answer(422, {"error": {
        "code": "unknown_unit", "message_fa": "واحد «labour/nowhere» شناخته نیست.", "message_en": "Unknown unit"}})
    async with signed_in(users) as client:
        page = await client.get("/staff/reports", params={"unit": "labour/nowhere"})
    assert page.status_code == 422 and "واحد «labour/nowhere» شناخته نیست." in page.text
    assert 'aria-invalid="true"' not in page.text and 'id="table-sla"' not in page.text


async def test_the_live_stream_sends_the_figures_again_when_a_rating_changes_them(users, reporting, monkeypatch) -> None:
    answers = iter([satisfaction(6, 4.17), satisfaction(6, 4.17), satisfaction(7, 4.29)])
    last = [satisfaction(7, 4.29)]
    reporting.answer = lambda path, params: Answer(200, next(answers, last[0]))
    monkeypatch.setattr(dashboards, "STREAM_SECONDS", 1.0)
    async with signed_in(users, refresh=0.2) as client:
        stream = await client.get("/staff/satisfaction/events", params={"period": "1405-09"})
        client.cookies.clear()
        assert (await client.get("/staff/satisfaction/events")).status_code == 204, "no session: the browser stops asking"
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = [block for block in stream.text.split("\n\n") if block.startswith("event: figures")]
    assert len(events) == 2, "sent at first, then only when the answer changed"
    first, second = ("\n".join(line.removeprefix("data: ") for line in event.splitlines()[1:]) for event in events)
    assert "<td>۶</td>" in row_of(first, "اداره مرودشت") and "<td>۷</td>" in row_of(second, "اداره مرودشت")
    assert all(call[2] == MANAGER for call in reporting.calls)


async def test_the_live_stream_ends_when_the_user_is_removed(users, reporting, monkeypatch) -> None:
    calls = []

    def answer(path, params):
        calls.append(path)
        if len(calls) == 2:
            users.remove("karimi")
        return Answer(200, satisfaction(len(calls) + 5))

    reporting.answer = answer
    monkeypatch.setattr(dashboards, "STREAM_SECONDS", 5.0)
    async with signed_in(users, refresh=0.2) as client:
        stream = await client.get("/staff/satisfaction/events")
    assert stream.text.rstrip().endswith("event: ended\ndata: signed-out") and len(calls) == 2


async def test_the_periodic_report_shows_sla_slowest_units_trend_causes_and_conduct(users, reporting) -> None:
    reporting.answers["/api/v1/reports/cases"] = Answer(200, case_report())
    reporting.answers["/api/v1/reports/conduct"] = Answer(200, CONDUCT)
    async with signed_in(users) as client:
        page = await client.get("/staff/reports", params={"period": "1405-09"})
        calls = len(reporting.calls)
        csv_file = await client.get("/staff/reports/download.csv", params={"period": "1405-09", "unit": "labour/fars"})
        xlsx_file = await client.get("/staff/reports/download.xlsx", params={"period": "1405-09", "unit": "labour/fars"})
    assert page.status_code == 200, page.text
    months = [params["period"] for path, params, _ in reporting.calls[:calls] if "group_by" not in params and path.endswith("/cases")]
    assert months == ["1405-04", "1405-05", "1405-06", "1405-07", "1405-08", "1405-09"]
    sla = re.search(r'<table class="figures" id="table-sla">.*?</table>', page.text, re.S)[0]
    assert "<td>۳</td>" in row_of(sla, "اداره مرودشت") and "<td>۷۰٫۰٪</td>" in row_of(sla, "اداره مرودشت")
    assert 'href="/staff/reports?unit=labour%2Ffars%2Fshiraz&amp;period=1405-09"' in sla
    slowest = re.search(r'id="table-slowest">.*?</table>', page.text, re.S)[0]
    assert slowest.index("اداره مرودشت") < slowest.index("اداره شیراز"), "the longest median answer time first"
    trend = re.search(r'id="table-trend">.*?</table>', page.text, re.S)[0]
    assert "تیر ۱۴۰۵" in trend and "آذر ۱۴۰۵" in trend
    causes = re.search(r'id="table-causes">.*?</table>', page.text, re.S)[0]
    assert "دستمزد و روابط کار" in causes and "<td>+۵</td>" in causes and "<td>-۲</td>" in causes
    assert "<td>۲۵</td>" in re.search(r'id="table-conduct">.*?</table>', page.text, re.S)[0] and "emp-204" in page.text
    assert 'href="/staff/reports/download.xlsx?period=1405-09&amp;unit=labour%2Ffars"' in page.text
    assert csv_file.headers["content-disposition"] == 'attachment; filename="report-labour-fars-1405-09.csv"'
    lines = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert ["واحد", "دریافتی", "پاسخ داده‌شده", "گذشته از مهلت", "پاسخ به‌موقع"] == lines[1][:5]
    assert ["اداره مرودشت", "12", "10", "3", "70.0%"] == lines[2][:5], "the page's table, in Latin digits"
    assert (lines[1][-1], lines[2][-1], lines[3][-1], lines[4][-1]) == ("ارجاع به سطح بالاتر", "4", "0", "4")
    assert ["emp-204 (اداره مرودشت)", "2"] in lines
    book = load_workbook(io.BytesIO(xlsx_file.content))
    assert book.sheetnames[:2] == ["پاسخ به‌موقع به تفکیک واحد", "کندترین واحدها"] and book.active.sheet_view.rightToLeft
    sla_sheet = list(book.worksheets[0].iter_rows(values_only=True))
    assert sla_sheet[1][:5] == ("اداره مرودشت", 12, 10, 3, 0.7) and sla_sheet[-1][0] == "همه"
    assert all(call[2] == MANAGER for call in reporting.calls[calls:]), "the files are made with the user's own token"


async def test_the_centre_view_shows_a_status_the_feed_and_units_compared_or_reportings_refusal_of_each(users, reporting) -> None:
    reporting.answers["/api/v1/status/12345678903"] = Answer(200, {
        "tracking_code": "12345678903", "case_number": "1405-00000042", "status": "referred", "unit_name": "اداره مرودشت",
        "deadline_at": "2026-12-30T10:00:00Z", "deadline_jalali": "1405-10-09",
        "history": [{"status": "referred", "event_type": "case.routed", "at": "2026-12-01T10:00:00Z", "at_jalali": "",
                     "note_fa": "ارجاع به اداره مرودشت", "note_en": "Referred to Marvdasht"}]})
    reporting.answers["/api/v1/changes"] = Answer(403, {"error": {"code": "forbidden", "message_fa": "این کار با دسترسی status:read است.",
                                                                  "message_en": "needs status:read"}})
    reporting.answers["/api/v1/reports/cases"] = Answer(200, case_report())
    reporting.answers["/api/v1/status/12345678901"] = Answer(404, {"error": {
        "code": "unknown_tracking_code", "message_fa": "پرونده‌ای با این کد رهگیری یافت نشد.", "message_en": "No case"}})
    async with signed_in(users, name="expert") as client:
        page = await client.get("/staff/centre", params={"code": "۱۲۳۴۵۶۷۸۹۰۳"})
        unknown = await client.get("/staff/centre", params={"code": "12345678901"})
    assert page.status_code == 200, page.text
    assert "ارجاع شده به واحد" in page.text and "ارجاع به اداره مرودشت" in page.text and "۱۴۰۵-۰۰۰۰۰۰۴۲" in page.text
    assert 'id="feed-refused">این کار با دسترسی status:read است.<' in page.text
    assert "<td>۱۲</td>" in row_of(page.text, "اداره مرودشت")
    assert reporting.calls[0][2] == ("expert", Role.expert, "labour/fars")
    assert ("/api/v1/changes", {"limit": "25", "latest": "true"}) in [call[:2] for call in reporting.calls]
    assert unknown.status_code == 200 and 'aria-invalid="true"' in unknown.text and 'id="case-status"' not in unknown.text
    assert "پرونده‌ای با این کد رهگیری یافت نشد." in unknown.text
