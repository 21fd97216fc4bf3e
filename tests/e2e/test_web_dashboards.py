"""The managers' dashboards and the supervision view in a real browser (Debian's Chromium through Playwright) in
front of the running hub on the real broker: a visit's rating reaches the manager's open dashboard within seconds
without a reload; the drill-down, the view by person, the periodic report and its downloads, the supervision view;
without JavaScript a reload shows the same figures; axe-core finds nothing serious on any of these pages."""

import io
import re
import time

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role

from .helpers import submit
from .test_reporting import this_month
from .test_web_portal import TO_PERSIAN, browser, check_page, new_page, sign_in, staff_account  # noqa: F401 (browser: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
RATED_UNIT = "labour/fars/marvdasht/performance-office"
NONE_OR_HIDDEN = re.compile(r"^(۰|پنهان)$")  # no rating in Fars yet, or fewer than 5 from an earlier test
LIVE_SECONDS = 15  # ratings leave intake every second here (HUB_INTAKE_RATING_RELEASE_SECONDS=1); the dashboard asks every 2


def rate(page: Page, score: str) -> None:
    page.goto(f"/r/{RATED_UNIT}")
    page.get_by_label(score, exact=True).first.check()
    page.get_by_role("button", name="ثبت نظر").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("نظر شما بدون نام ثبت شد. سپاسگزاریم.")


def marvdasht_row(page: Page):
    return page.locator("#table-satisfaction tbody tr", has_text="مرودشت")


def test_a_rating_reaches_the_managers_open_dashboard_within_seconds_without_a_reload(browser, portal_hub) -> None:  # noqa: F811
    manager = new_page(browser, portal_hub)
    sign_in(manager, "e2e-manager-fars", staff_account(portal_hub, "e2e-manager-fars", Role.office_manager, "labour/fars"))
    manager.get_by_role("link", name="رضایت مراجعان").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("رضایت مراجعان")
    expect(manager.locator("#total-ratings")).to_have_text(NONE_OR_HIDDEN)  # nothing yet, and nothing small is shown
    check_page(manager)
    manager.evaluate("window.sameDocument = true")

    citizen = new_page(browser, portal_hub)
    for score in ("۵", "۴", "۴", "۳"):
        rate(citizen, score)
    time.sleep(3)  # four ratings have reached reporting by now: still too few to show
    expect(manager.locator("#total-ratings")).to_have_text("پنهان")  # a hidden figure may be of any size: not "fewer than 5"
    expect(marvdasht_row(manager)).to_have_count(1)
    expect(marvdasht_row(manager).locator("td").first).to_have_text("پنهان")
    rate(citizen, "۴")
    rated = time.monotonic()
    expect(marvdasht_row(manager).locator("td").nth(0)).to_have_text("۵", timeout=LIVE_SECONDS * 1000)
    assert time.monotonic() - rated < LIVE_SECONDS
    expect(marvdasht_row(manager).locator("td").nth(1)).to_have_text("۴٫۰۰")
    expect(manager.locator("#total-ratings")).to_have_text("۵")
    expect(manager.locator("#live-status")).to_contain_text("به‌روز شد")
    assert manager.evaluate("window.sameDocument") is True, "the page was not reloaded"
    check_page(manager)

    marvdasht_row(manager).get_by_role("link", name="اداره شهرستان مرودشت").click()  # one level down
    expect(manager.locator("ol.levels [aria-current=page]")).to_have_text("اداره شهرستان مرودشت")
    expect(manager.locator("ol.levels a")).to_have_text(["اداره کل فارس - وزارت تعاون، کار و رفاه اجتماعی"])
    expect(manager.locator("#total-ratings")).to_have_text("۵")
    check_page(manager)
    for _ in range(5):  # five visits served by one person: the view by person shows them only once there are five
        answer = httpx.post(f"{portal_hub.url('intake')}/api/v1/feedback", timeout=5,
                            json={"unit_id": RATED_UNIT, "employee_id": "emp-0417", "score": 2})
        assert answer.status_code == 202, answer.text
    manager.get_by_role("link", name="به تفکیک کارمند").click()
    expect(manager.locator("#table-satisfaction")).to_contain_text("emp-0417", timeout=LIVE_SECONDS * 1000)
    expect(manager.locator("#table-satisfaction tbody tr", has_text="emp-0417").locator("td").nth(1)).to_have_text("۲٫۰۰")
    check_page(manager)
    manager.get_by_role("link", name="English").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Visitors' satisfaction")
    expect(manager.locator("#total-ratings")).to_have_text("10")
    check_page(manager)

    without_js = new_page(browser, portal_hub, javascript=False)
    sign_in(without_js, "e2e-manager-fars", "e2e-manager-fars-password-long")
    without_js.goto("/staff/satisfaction")
    expect(marvdasht_row(without_js).locator("td").nth(0)).to_have_text("۱۰")  # a reload shows the current figures
    for page in (manager, citizen, without_js):
        page.context.close()


def test_the_periodic_report_its_downloads_and_the_supervision_view(browser, portal_hub) -> None:  # noqa: F811
    filed = submit(portal_hub, target={"agency": "labour", "province": "tehran", "county": "rey"})
    page = new_page(browser, portal_hub)
    sign_in(page, "e2e-supervisor", staff_account(portal_hub, "e2e-supervisor", Role.national_supervisor, "national"))
    page.get_by_role("link", name="گزارش دوره‌ای").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("گزارش دوره‌ای")
    expect(page.locator("#table-sla")).to_be_visible()
    expect(page.locator("#table-trend")).to_contain_text(this_month()[:4].translate(TO_PERSIAN))
    check_page(page)
    csv = page.request.get(page.get_by_role("link", name="دریافت جدول‌ها (CSV)").get_attribute("href"))
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), csv.text()
    lines = csv.text().lstrip("\ufeff").splitlines()
    assert lines[0] == "پاسخ به‌موقع به تفکیک واحد" and lines[1].startswith("واحد,دریافتی,")
    assert any(line.startswith("وزارت تعاون، کار و رفاه اجتماعی") or line.startswith('"وزارت تعاون، کار و رفاه اجتماعی"') for line in lines)
    xlsx = page.request.get(page.get_by_role("link", name="دریافت جدول‌ها (اکسل)").get_attribute("href"))
    assert xlsx.status == 200
    rows = list(load_workbook(io.BytesIO(xlsx.body())).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("واحد", "دریافتی") and rows[-1][0] == "همه" and rows[-1][1] >= 1
    page.get_by_label("دوره (ماه، فصل، نیم‌سال یا سال شمسی)").fill("۱۴۰۵-۱۳")
    page.get_by_role("button", name="نمایش").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Periodic report")
    expect(page.locator("#table-sla")).to_contain_text("Escalations")
    check_page(page)
    page.get_by_role("link", name="فارسی").click()

    page.get_by_role("link", name="نمای نظارتی").click()
    expect(page.locator("#table-sla")).to_contain_text("وزارت تعاون، کار و رفاه اجتماعی")  # the agencies compared
    code = filed["tracking_code"].translate(TO_PERSIAN)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def status_shown() -> None:  # reporting takes the case from the bus in its own time
        page.get_by_role("searchbox", name="کد رهگیری").fill(code)
        page.get_by_role("button", name="نمایش وضعیت").click()
        expect(page.locator("#case-status")).to_contain_text(filed["case_number"].translate(TO_PERSIAN), timeout=500)

    status_shown()
    expect(page.locator("#table-feed")).to_contain_text(code)
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervision view")
    check_page(page)
    page.context.close()

    expert = new_page(browser, portal_hub)  # the same decisions as reporting's: an expert holds no status:read
    sign_in(expert, "e2e-expert-fars", staff_account(portal_hub, "e2e-expert-fars", Role.expert, "labour/fars"))
    expert.goto("/staff/centre")
    expect(expert.locator("#feed-refused")).to_be_visible()
    expect(expert.locator("#table-feed")).to_have_count(0)
    check_page(expert)
    expert.goto("/staff/satisfaction?unit=labour/tehran")
    expect(expert.get_by_role("heading", level=1)).to_have_text("دسترسی داده نشد")
    expert.context.close()
