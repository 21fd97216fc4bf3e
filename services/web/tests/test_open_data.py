"""The open-data pages, rendered from a canned answer of reporting: the tables, the charts, the CSV, both languages."""

import csv
import io
import re
from datetime import UTC, datetime

import httpx
import pytest

from hub_shared.settings import HubSettings
from hub_web.app import create_app
from hub_web.charts import LABEL, WIDTH, bar_chart
from hub_web.open_data import Number, as_csv, month_name, tables, written
from hub_web.persian import last_finished_month
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Upstream

PLACES = {"agencies": [{"code": "labour", "name_fa": "وزارت تعاون، کار و رفاه اجتماعی"}],
          "provinces": [{"code": "tehran", "name_fa": "تهران", "counties": []}, {"code": "fars", "name_fa": "فارس", "counties": []}]}
KINDS = ["complaint", "request", "suggestion", "idea", "criticism", "report", "appreciation", "misconduct_report"]


def figure(value, suppressed: bool = False) -> dict:
    return {"value": None if suppressed else value, "suppressed": suppressed}


def month(name: str, complaints, requests, answered, share, days, ratings, score) -> dict:
    cases = {kind: figure(0) for kind in KINDS} | {"complaint": complaints, "request": requests}
    total = figure(None, True) if requests["suppressed"] or complaints["suppressed"] else figure(complaints["value"] + requests["value"])
    return {"month": name, "cases": cases, "cases_total": total, "answered": answered, "on_time_share": share,
            "median_working_days": days, "ratings": ratings, "mean_score": score}


HIDDEN = figure(None, True)
REPORT = {
    "agency": "labour", "province": "tehran", "threshold": 5, "kinds": KINDS, "counting": {}, "complete_through": "1405-09",
    "period": {"label": "1405-08..1405-09", "from_jalali": "1405-08-01", "to_jalali": "1405-09-30",
               "start_utc": "2026-10-22T20:30:00Z", "end_utc": "2026-12-21T20:30:00Z"},
    "months": [month("1405-08", figure(12), figure(0), figure(10), figure(0.875), figure(3), figure(6), figure(4.0)),
               month("1405-09", figure(7), HIDDEN, HIDDEN, HIDDEN, HIDDEN, figure(0), figure(None))],
    "total": month("total", figure(19), HIDDEN, figure(13), figure(0.8462), figure(2.5), figure(6), figure(4.0)),
}


def reporting_answers(monkeypatch, answer: Answer) -> list[dict]:
    """Reporting answers `answer` to every open-data query and routing gives PLACES; the queries the portal sent."""
    queries: list[dict] = []

    async def open_data(self, query, citizen_address):
        queries.append(query)
        return answer

    async def places(self):
        return PLACES

    monkeypatch.setattr(Upstream, "open_data", open_data)
    monkeypatch.setattr(Upstream, "places", places)
    return queries


@pytest.fixture
def asked(monkeypatch) -> list[dict]:
    """The queries the portal sent to reporting; reporting answers REPORT."""
    return reporting_answers(monkeypatch, Answer(200, REPORT))


async def get(path: str, lang: str = "fa") -> httpx.Response:
    app = create_app(HubSettings(service_name="web"), WebSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal", cookies={"hub_lang": lang}) as client:
        return await client.get(path)


def cells(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="figures" id="table-{table}">(.*?)</table>', html, re.S)[1]
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_figures_are_written_in_persian_digits_and_a_hidden_count_in_words() -> None:
    assert written(Number(None, True), "fa", 5) == "کمتر از ۵" and written(Number(None, True), "en", 5) == "fewer than 5"
    assert written(Number(0.875, False, "share"), "fa", 5) == "۸۷٫۵٪" and written(Number(0.875, False, "share"), "en", 5) == "87.5%"
    assert written(Number(2.5, False, "days"), "fa", 5) == "۲٫۵" and written(Number(12, False), "fa", 5) == "۱۲"
    assert written(Number(None, False, "score"), "fa", 5) == "—"
    assert written(Number(0.875, False, "share"), "fa", 5, persian=False) == "87.5%"


async def test_the_page_shows_each_table_beside_its_chart_with_jalali_months_and_hidden_counts_in_words(asked) -> None:
    page = await get("/open-data/labour/tehran")
    assert page.status_code == 200 and asked == [{"agency": "labour", "province": "tehran"}]
    html = page.text
    assert cells(html, "cases") == [["ماه", "شکایت", "درخواست", "همه"], ["آبان ۱۴۰۵", "۱۲", "۰", "۱۲"],
                                    ["آذر ۱۴۰۵", "۷", "کمتر از ۵", "کمتر از ۵"], ["کل دوره", "۱۹", "پنهان", "پنهان"]]
    assert cells(html, "on-time")[1:] == [["آبان ۱۴۰۵", "۱۰", "۸۷٫۵٪"], ["آذر ۱۴۰۵", "کمتر از ۵", "کمتر از ۵"],
                                          ["کل دوره", "۱۳", "۸۴٫۶٪"]]
    assert cells(html, "satisfaction")[2] == ["آذر ۱۴۰۵", "۰", "—"]
    assert html.count('<svg class="chart" role="img"') == 4 and "<title" in html
    assert 'href="/open-data/labour/tehran/download.csv"' in html and "دی ۱۴۰۴" not in html
    assert "آبان ۱۴۰۵ تا آذر ۱۴۰۵" in html


async def test_in_english_the_months_and_hidden_counts_are_english(asked) -> None:
    html = (await get("/open-data/labour/tehran", lang="en")).text
    assert cells(html, "cases")[2] == ["Azar 1405", "7", "fewer than 5", "fewer than 5"]
    assert 'dir="ltr"' in html and "Aban 1405 to Azar 1405" in html


async def test_the_csv_holds_exactly_the_tables_numbers_with_a_byte_order_mark(asked) -> None:
    answer = await get("/open-data/labour/tehran/download.csv")
    assert answer.headers["content-type"].startswith("text/csv") and answer.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="open-data-labour-tehran-1405-08_1405-09.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[:5] == [["پرونده‌ها به تفکیک نوع و ماه ثبت"], ["ماه", "شکایت", "درخواست", "همه"], ["آبان ۱۴۰۵", "12", "0", "12"],
                        ["آذر ۱۴۰۵", "7", "کمتر از 5", "کمتر از 5"], ["کل دوره", "19", "پنهان", "پنهان"]]
    assert ["کل دوره", "13", "84.6%"] in rows


def test_the_chart_draws_a_stub_for_a_hidden_count_and_grows_from_the_right_in_persian() -> None:
    section = tables(REPORT, "fa")[0]
    persian, english = bar_chart(section, "fa", 5), bar_chart(section, "en", 5)
    assert [bar.text for bar in persian.bars] == ["۱۲", "کمتر از ۵"] and persian.bars[1].hidden
    assert persian.bars[1].width < persian.bars[0].width / 10  # a stub says nothing of the hidden size
    assert persian.bars[0].x + persian.bars[0].width == WIDTH - LABEL and english.bars[0].x == LABEL  # beside the month's name
    assert as_csv(tables(REPORT, "en")[:1], "en", 5).decode("utf-8-sig").splitlines()[1] == "Month,Complaint,Request,All"


async def test_an_unknown_agency_or_province_is_not_found_without_asking_reporting(asked) -> None:
    for path in ("/open-data/nowhere", "/open-data/labour/atlantis", "/open-data/labour/tehran?period=x"):
        assert (await get(path)).status_code == 404, path
    assert asked == []


async def test_the_index_lists_every_agency_nationwide_and_in_each_province(asked) -> None:
    html = (await get("/open-data")).text
    for link in ("/open-data/labour", "/open-data/labour/tehran", "/open-data/labour/fars"):
        assert f'href="{link}"' in html
    assert 'href="/open-data" aria-current="page"' in html


async def test_a_total_over_several_months_short_of_a_year_is_hidden_as_any_size_and_the_whole_years_are_linked(asked) -> None:
    html = (await get("/open-data/labour/tehran")).text  # Aban and Azar 1405: reporting hides the total it cannot give
    assert cells(html, "cases")[-1] == ["کل دوره", "۱۹", "پنهان", "پنهان"] and 'id="partial-total"' in html
    assert 'href="/open-data/labour/tehran?period=1405">۱۴۰۵</a>' in html
    english = (await get("/open-data/labour/tehran", lang="en")).text
    assert cells(english, "cases")[-1] == ["Whole period", "19", "hidden", "hidden"]
    assert 'href="/open-data/labour/tehran?period=1405">1405</a>' in english


async def test_a_whole_year_or_a_single_month_writes_its_hidden_total_as_a_small_count(monkeypatch) -> None:
    def answer(label: str, months: list[dict]) -> dict:
        return REPORT | {"period": REPORT["period"] | {"label": label}, "months": months}

    for report in (answer("1405", REPORT["months"]), answer("1405-09", REPORT["months"][1:])):
        reporting_answers(monkeypatch, Answer(200, report))
        html = (await get("/open-data/labour/tehran")).text
        assert cells(html, "cases")[-1] == ["کل دوره", "۱۹", "کمتر از ۵", "کمتر از ۵"] and 'id="partial-total"' not in html


async def test_each_table_scrolls_sideways_in_its_own_focusable_named_frame(asked) -> None:
    html = (await get("/open-data/labour/tehran")).text
    frames = re.findall(r'<div class="table-wrap"([^>]*)>\s*<table class="figures" id="table-([\w-]+)">\s*<caption id="([\w-]+)"', html)
    assert [key for _, key, _ in frames] == ["cases", "on-time", "answer-time", "satisfaction"]
    for attributes, key, caption in frames:
        assert 'role="region"' in attributes and 'tabindex="0"' in attributes and f'aria-labelledby="{caption}"' in attributes
    assert " style=" not in html  # the Content-Security-Policy allows no inline style
    css = (await get("/static/css/portal.css")).text
    assert ".table-wrap { overflow-x: auto;" in css and "grid-template-columns: minmax(0, 1fr); gap" in css


async def test_the_page_names_the_last_month_counted_in_both_languages(asked) -> None:
    html = (await get("/open-data/labour/tehran")).text
    assert re.search(r'<p class="hint" id="complete-through">آمار تا پایان آذر ۱۴۰۵\. ', html)
    english = (await get("/open-data/labour/tehran", lang="en")).text
    assert re.search(r'<p class="hint" id="complete-through">Figures up to the end of Azar 1405\. ', english)


async def test_a_period_reaching_into_the_running_month_is_named_by_the_months_it_shows(monkeypatch) -> None:
    report = REPORT | {"period": REPORT["period"] | {"label": "1405", "from_jalali": "1405-01-01", "to_jalali": "1405-12-29"},
                       "complete_through": "1405-08", "months": [REPORT["months"][0] | {"month": f"1405-{m:02d}"} for m in range(1, 9)]}
    reporting_answers(monkeypatch, Answer(200, report))
    html = (await get("/open-data/labour/tehran?period=1405")).text
    assert '<p class="lead" id="period">فروردین ۱۴۰۵ تا آبان ۱۴۰۵</p>' in html and "اسفند" not in html
    assert "آمار تا پایان آبان ۱۴۰۵" in html


async def test_a_period_with_no_finished_month_yet_says_when_its_figures_come_and_links_to_the_latest(monkeypatch) -> None:
    queries = reporting_answers(monkeypatch, Answer(422, {"error": {
        "code": "unfinished_period", "message_fa": "…", "message_en": "…", "complete_through": "1405-08"}}))
    for lang, heading, words in (("fa", "آمار این دوره هنوز منتشر نشده است", "آمار تا پایان آبان ۱۴۰۵ در دسترس است."),
                                 ("en", "These figures are not published yet", "Figures are available up to the end of Aban 1405.")):
        for path in ("/open-data/labour/tehran?period=1405-09", "/open-data/labour/tehran/download.csv?period=1405-10"):
            page = await get(path, lang)
            assert page.status_code == 422 and heading in page.text and words in page.text, (lang, path)
            assert 'href="/open-data/labour/tehran"' in page.text and 'href="/open-data/labour/tehran?period=1405-08"' in page.text
    assert queries[0] == {"agency": "labour", "province": "tehran", "period": "1405-09"}


async def test_the_index_names_the_last_finished_month(asked) -> None:
    html = (await get("/open-data")).text
    assert f'<p class="hint" id="complete-through">آمار تا پایان {month_name(last_finished_month(), "fa")}. ' in html


def test_the_last_finished_month_is_the_one_before_tehrans_current_month() -> None:
    assert last_finished_month(datetime(2026, 12, 21, 20, 29, tzinfo=UTC)) == "1405-08"  # 23:59 on 30 Azar in Tehran
    assert last_finished_month(datetime(2026, 12, 21, 20, 30, tzinfo=UTC)) == "1405-09"  # midnight, 1 Dey
    assert last_finished_month(datetime(2027, 3, 21, 12, tzinfo=UTC)) == "1405-12"  # 1 Farvardin 1406
