"""The citizen's portal in a real browser (Debian's Chromium through Playwright) in front of the running hub on
the real broker: filing with an attachment, the receipt, following, an anonymous report, a visit rating that
reaches reporting, errors in Persian beside their fields, all of it also with JavaScript off, and axe-core
finding no serious or critical accessibility problem on any page."""

import csv
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from pathlib import Path

import httpx
import jdatetime
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.envelope import wrap
from hub_shared.events import CaseRegistered, Target
from hub_shared.jalali import TEHRAN
from hub_shared.testing import bearer, random_national_id

from .helpers import spans, staff_headers, submit
from .test_gateway import publish
from .test_reporting import this_month

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "services/web/tests/vendor/axe.min.js"
PDF = b"%PDF-1.7\n" + "نامه اداره کار".encode() + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PERSIAN_DATE = re.compile(r"[۰-۹]{1,2} (فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}، ساعت [۰-۹]{2}:[۰-۹]{2}")
TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
RATED_UNIT = "labour/fars/marvdasht/performance-office"
REY_OFFICE = "labour/tehran/rey/performance-office"  # where a labour complaint about Rey is referred
MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
KIND_NAMES = {"complaint": "شکایت", "request": "درخواست", "suggestion": "پیشنهاد"}


@pytest.fixture(scope="module")
def browser(portal_hub) -> Iterator[Browser]:  # after the hub: its start-up runs an event loop, which Playwright's would refuse
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `./hub test` installs Debian's chromium (apt-get install chromium); "
                    "install it, or run the tests through ./hub")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `./hub` fetches axe-core from the npm registry (python -m hub_web.assets)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def new_page(browser: Browser, hub, javascript: bool = True) -> Page:
    context = browser.new_context(base_url=hub.url("web"), viewport={"width": 390, "height": 844}, java_script_enabled=javascript)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.url("web"))
    return context.new_page()


@pytest.fixture
def page(browser, portal_hub) -> Iterator[Page]:
    page = new_page(browser, portal_hub)
    yield page
    page.context.close()


@pytest.fixture
def page_without_js(browser, portal_hub) -> Iterator[Page]:
    page = new_page(browser, portal_hub, javascript=False)
    yield page
    page.context.close()


def check_page(page: Page) -> None:
    """axe-core finds nothing serious or critical; no inline script (the CSP would block it anyway)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))""")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"{page.url}: {serious}"
    assert page.locator("script:not([src])").count() == 0


def field(page: Page, label: str):
    """The form field block holding the control labelled `label` (its error is shown inside it)."""
    return page.locator(".field", has=page.get_by_label(label, exact=True))


def fill_complaint(page: Page, national_id: str, **overrides) -> None:
    fill_about(page, national_id, **overrides)
    page.get_by_label("دستگاه", exact=True).select_option(label="وزارت تعاون، کار و رفاه اجتماعی")
    page.get_by_label("استان", exact=True).select_option(label="تهران")
    page.get_by_label("شهرستان (اختیاری)").select_option(label="ری")


def fill_about(page: Page, national_id: str, **overrides) -> None:
    """A complaint's kind, the complainant's identity, its subject and description: all but where it happened."""
    values = {"نام و نام خانوادگی": "زهرا احمدی", "کد ملی": national_id.translate(TO_PERSIAN), "شماره تلفن همراه": "۰۹۱۲۱۲۳۴۵۶۷",
              "نشانی": "تهران، خیابان آزادی، پلاک ۱۲", "موضوع": "تاخیر در پرداخت مستمری",
              "شرح": f"مستمری من سه ماه است پرداخت نشده است. {national_id}", **overrides}
    page.get_by_label("نوع", exact=True).select_option("complaint")
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)


def submit_filing(page: Page) -> None:
    page.get_by_role("button", name="ثبت و دریافت کد رهگیری").click()


def receipt_code(page: Page, label: str) -> str:
    return page.locator("dt", has_text=label).locator("xpath=following-sibling::dd[1]").inner_text().strip()


def follow(page: Page, tracking_code: str, proof: str, proof_kind: str = "کد ملی", expected: str = "") -> None:
    """Ask for the case's status until the page shows `expected` (the hub moves the case on its own time)."""
    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def until_shown() -> None:
        page.goto("/follow")
        page.get_by_label("کد رهگیری").fill(tracking_code)
        page.get_by_label(proof_kind, exact=True).check()
        page.get_by_label("کد ملی، شماره تلفن یا رمز پیگیری").fill(proof)
        page.get_by_role("button", name="نمایش وضعیت").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("وضعیت پرونده", timeout=2000)
        expect(page.locator("main")).to_contain_text(expected, timeout=500)

    until_shown()


@retry(stop=stop_after_delay(20), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def case_id_of(hub, tracking_code: str) -> str:
    timeline = httpx.get(f"{hub.url('reporting')}/api/v1/cases/{tracking_code}/timeline", headers=staff_headers(), timeout=5)
    assert timeline.status_code == 200, timeline.text
    return timeline.json()["case_id"]


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def referred_unit(hub, tracking_code: str) -> str:
    """The unit the case was referred to, once routing has referred it (intake's staff view)."""
    case = httpx.get(f"{hub.url('intake')}/api/v1/cases/{case_id_of(hub, tracking_code)}", headers=staff_headers(), timeout=5).json()
    assert case["unit_name"], case["status"]
    return case["unit_id"]


def attachments_of(hub, tracking_code: str) -> list[str]:
    listed = httpx.get(f"{hub.url('intake')}/api/v1/cases/{case_id_of(hub, tracking_code)}/attachments", headers=staff_headers(), timeout=5)
    assert listed.status_code == 200, listed.text
    return [item["filename"] for item in listed.json()]


def answer_through_followup(hub, case_id: str, final: str) -> None:
    """The unit responds and its manager approves the final answer, through followup's API."""
    work = f"{hub.url('followup')}/api/v1/cases/{case_id}"

    @retry(stop=stop_after_delay(20), wait=wait_fixed(0.2), retry=retry_if_exception_type(AssertionError), reraise=True)
    def respond() -> None:  # followup learns of the referral from the bus
        response = httpx.post(f"{work}/response", headers=bearer(Role.unit_responder, REY_OFFICE, subject="responder-1"),
                              json={"text": "پرونده مستمری بررسی و پرداخت معوقات دستور داده شد.", "attachments": []}, timeout=5)
        assert response.status_code == 201, response.text

    respond()
    approval = httpx.post(f"{work}/approval", headers=bearer(Role.office_manager, REY_OFFICE, subject="manager-1"), timeout=5,
                          json={"decision": "approve", "answer_fa": final, "outcome": "upheld", "legal_grounds": "قانون تأمین اجتماعی"})
    assert approval.status_code == 201, approval.text


def test_a_complaint_with_an_attachment_gets_a_receipt_and_is_followed_to_its_referral_and_deadline(page, portal_hub) -> None:
    page.goto("/file")
    check_page(page)
    national_id = random_national_id()
    fill_complaint(page, national_id)
    page.get_by_label("پیوست‌ها (نامه‌ها و مدارک اسکن‌شده)").set_input_files(
        {"name": "نامه.pdf", "mimeType": "application/pdf", "buffer": PDF})
    submit_filing(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("پرونده شما ثبت شد")
    tracking_code = receipt_code(page, "کد رهگیری")
    assert re.fullmatch(r"[۰-۹]{11}", tracking_code), tracking_code
    assert re.fullmatch(r"[۰-۹]{4}-[۰-۹]{8}", receipt_code(page, "شماره پرونده"))
    assert PERSIAN_DATE.fullmatch(receipt_code(page, "تاریخ و ساعت ثبت")), receipt_code(page, "تاریخ و ساعت ثبت")
    expect(page.get_by_role("button", name="چاپ رسید")).to_be_visible()
    assert national_id not in page.url and "/file" in page.url
    check_page(page)
    ascii_code = tracking_code.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    assert attachments_of(portal_hub, ascii_code) == ["نامه.pdf"]

    follow(page, tracking_code, national_id, expected="ارجاع‌شده")
    expect(page.locator("#unit")).to_contain_text("ری")
    expect(page.locator("#deadline")).to_contain_text("روز کاری مانده")
    assert PERSIAN_DATE.search(page.locator(".timeline").inner_text())
    assert national_id not in page.url and ascii_code not in page.url
    check_page(page)
    portal_log = (portal_hub.data_dir / "logs" / "web.log").read_text(encoding="utf-8")
    assert national_id not in portal_log and ascii_code not in portal_log
    filing_trace_reaches_intake(portal_hub)
    traces = "\n".join(path.read_text(encoding="utf-8") for path in (portal_hub.data_dir / "traces").glob("*.jsonl"))
    leaks = [line for line in traces.splitlines() if national_id in line or "آزادی" in line]
    assert not leaks, leaks[:3]
    assert ascii_code not in (portal_hub.data_dir / "traces" / "web.jsonl").read_text(encoding="utf-8")  # staff's URLs may hold it


@retry(stop=stop_after_delay(10), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
def filing_trace_reaches_intake(hub) -> None:
    """The filing's trace starts at the portal's POST /file, and intake's span of the registration is the child of the
    portal's call to it (span batches are written every 0.5 s)."""
    found = spans(hub)
    filings = {s["trace_id"] for s in found if s["service"] == "web" and s["kind"] == "SERVER" and s["name"] == "POST /file"}
    calls = {s["span_id"]: s["trace_id"] for s in found if s["service"] == "web" and s["kind"] == "CLIENT" and s["name"] == "POST /api/v1/cases"}
    registrations = [s for s in found if s["service"] == "intake" and s["kind"] == "SERVER" and s["name"] == "POST /api/v1/cases"
                     and s["trace_id"] in filings]
    assert registrations, "intake's registration span is in the trace the portal started"
    assert all(calls.get(s["parent_id"]) == s["trace_id"] for s in registrations), "its parent is the portal's call to intake"


def test_the_citizen_sees_the_final_answer_rates_the_handling_and_reopens_the_case_with_an_objection(page, portal_hub) -> None:
    page.goto("/file")
    national_id = random_national_id()
    fill_complaint(page, national_id)
    submit_filing(page)
    tracking_code = receipt_code(page, "کد رهگیری")
    ascii_code = tracking_code.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    final = "مستمری معوق شما تا پایان ماه پرداخت می‌شود."
    answer_through_followup(portal_hub, case_id_of(portal_hub, ascii_code), final)

    follow(page, tracking_code, "۰۹۱۲۱۲۳۴۵۶۷", proof_kind="شماره تلفن", expected=final)
    expect(page.locator("#status")).to_have_text("پاسخ داده‌شده")
    check_page(page)
    page.get_by_role("group", name="رسیدگی به پرونده را چگونه ارزیابی می‌کنید؟").get_by_label("۴", exact=True).check()
    page.get_by_role("button", name="ثبت ارزیابی").click()
    expect(page.get_by_role("status")).to_have_text("ارزیابی شما ثبت شد. سپاسگزاریم.")

    page.get_by_role("button", name="اعتراض و بازگشایی پرونده").click()  # no objection written
    expect(field(page, "اعتراض من به پاسخ")).to_contain_text("اعتراض خود را دست‌کم در ۲۰ حرف بنویسید.")
    page.get_by_label("اعتراض من به پاسخ").fill("مبلغ پرداخت‌شده کمتر از حکم است و معوقات دو ماه دیگر هم مانده است.")
    page.get_by_label("مدارک تازه (اختیاری)").set_input_files({"name": "فیش.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="اعتراض و بازگشایی پرونده").click()
    expect(page.get_by_role("status")).to_contain_text("اعتراض شما ثبت شد")
    expect(page.get_by_role("status")).not_to_contain_text("پذیرفته نشد")
    expect(page.locator("#status")).to_have_text("بازگشایی‌شده")
    expect(page.locator(".timeline")).to_contain_text("بازگشایی شد")
    assert national_id not in page.url
    assert attachments_of(portal_hub, ascii_code) == ["فیش.png"]  # the new document reached the case


def test_an_anonymous_report_shows_its_access_code_once_and_is_followed_with_it(page) -> None:
    page.goto("/file?kind=misconduct_report")
    page.get_by_label("می‌خواهم گزارش سوء جریان را بی‌نام بفرستم").check()
    expect(page.get_by_label("کد ملی", exact=True)).to_be_hidden()  # no identity is asked
    page.get_by_label("دستگاه", exact=True).select_option(label="وزارت بهداشت، درمان و آموزش پزشکی")
    page.get_by_label("استان", exact=True).select_option(label="اصفهان")
    page.get_by_label("موضوع").fill("دریافت رشوه در صدور مجوز")
    page.get_by_label("شرح").fill("یکی از کارکنان برای صدور مجوز بهداشتی مبلغی خواست.")
    submit_filing(page)

    expect(page.get_by_role("heading", name="رمز پیگیری گزارش بی‌نام")).to_be_visible()
    access_code = page.locator("#access-code").inner_text().strip()
    page.get_by_role("button", name="رونوشت رمز").click()
    expect(page.get_by_role("button", name="رونوشت شد")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == access_code
    check_page(page)
    tracking_code = receipt_code(page, "کد رهگیری")

    follow(page, tracking_code, access_code, proof_kind="رمز پیگیری گزارش بی‌نام", expected="ارجاع‌شده")
    expect(page.locator("#unit")).to_contain_text("اصفهان")


def test_errors_are_shown_in_persian_beside_their_fields_and_the_answers_are_kept(page) -> None:
    page.goto("/file")
    fill_complaint(page, "0084575949", **{"نشانی": ""})  # a wrong check digit, no address
    submit_filing(page)
    expect(field(page, "کد ملی")).to_contain_text("کد ملی باید ۱۰ رقم باشد و رقم کنترل آن درست باشد.")
    expect(field(page, "نشانی")).to_contain_text("نشانی را کامل بنویسید")
    expect(page.get_by_role("alert")).to_contain_text("لطفاً موارد زیر را اصلاح کنید")
    expect(page.get_by_label("نام و نام خانوادگی")).to_have_value("زهرا احمدی")
    check_page(page)

    fill_complaint(page, random_national_id())
    page.get_by_label("پیوست‌ها (نامه‌ها و مدارک اسکن‌شده)").set_input_files(
        {"name": "نامه.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 not a pdf at all"})
    submit_filing(page)
    expect(field(page, "پیوست‌ها (نامه‌ها و مدارک اسکن‌شده)")).to_contain_text(
        "فایل «نامه.pdf» پذیرفته نشد: فقط PDF، JPEG، PNG یا TIFF تا ۴ مگابایت.")

    fill_complaint(page, random_national_id(), **{"شماره تلفن همراه": "۱۲۳۴۵۶۷۸"})  # intake's rule, in intake's words
    submit_filing(page)
    expect(field(page, "شماره تلفن همراه")).to_contain_text("شماره تلفن باید ۱۱ رقم و با صفر آغاز شود")
    expect(field(page, "کد ملی")).not_to_contain_text("رقم کنترل")

    page.goto("/follow")
    page.get_by_label("کد رهگیری").fill("۱۲۳")
    page.get_by_role("button", name="نمایش وضعیت").click()
    expect(page.locator(".has-error", has=page.get_by_label("کد رهگیری"))).to_contain_text("کد رهگیری ۱۱ رقم است")
    expect(page.locator("main")).to_contain_text("کد ملی، شماره تلفن یا رمز پیگیری را وارد کنید.")
    check_page(page)


def test_with_javascript_off_a_case_is_filed_with_a_county_of_its_province_and_followed(page_without_js) -> None:
    page = page_without_js
    page.goto("/file")
    national_id = random_national_id()
    fill_complaint(page, national_id)
    page.get_by_label("شهرستان (اختیاری)").select_option(label="کاشان")  # every county is listed without JavaScript
    submit_filing(page)
    expect(field(page, "شهرستان (اختیاری)")).to_contain_text("شهرستان در استان انتخاب‌شده یافت نشد")

    page.get_by_label("شهرستان (اختیاری)").select_option(label="ری")
    submit_filing(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("پرونده شما ثبت شد")
    expect(page.get_by_role("button", name="چاپ رسید")).to_be_hidden()  # it needs JavaScript; the browser's print works
    follow(page, receipt_code(page, "کد رهگیری"), national_id, expected="ارجاع‌شده")
    expect(page.locator("#deadline")).to_contain_text("روز کاری مانده")


def test_the_responsible_body_is_found_by_typing_part_of_its_names_and_the_case_is_filed(page) -> None:
    page.goto("/file")
    national_id = random_national_id()
    fill_about(page, national_id)
    page.get_by_label("جستجو در دستگاه‌ها").fill("تعاون")
    expect(page.get_by_label("دستگاه", exact=True)).to_have_value("labour")
    county_search = page.get_by_label("جستجو در شهرستان‌ها")
    county_search.fill("نيشا")  # with the Arabic ي a keyboard may type
    expect(page.get_by_label("شهرستان (اختیاری)")).to_have_value("neyshabur")
    expect(page.get_by_label("استان", exact=True)).to_have_value("khorasan-razavi")  # chosen with its county
    expect(page.locator("#f-county-filter-status")).to_have_text("۱ مورد یافت شد؛ انتخاب‌شده: نیشابور")
    assert page.locator("#f-county option:not([hidden])").all_inner_texts() == ["در سطح استان", "نیشابور"]
    check_page(page)
    county_search.press("Enter")  # goes to the list; the form is not sent half filled
    expect(page.get_by_label("شهرستان (اختیاری)")).to_be_focused()
    expect(page.get_by_role("heading", level=1)).to_have_text("ثبت درخواست یا شکایت")

    submit_filing(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("پرونده شما ثبت شد")
    follow(page, receipt_code(page, "کد رهگیری"), national_id, expected="ارجاع‌شده")
    expect(page.locator("#unit")).to_contain_text("نیشابور")


def test_in_english_places_and_units_have_english_names_and_are_found_by_them(page, portal_hub) -> None:
    page.goto("/lang/en?next=/file")
    national_id = random_national_id()
    expect(page.get_by_label("Agency", exact=True).locator("option")).to_contain_text(
        ["Choose", "Hajj and Pilgrimage Organisation", "Ministry of Cooperatives, Labour and Social Welfare"])
    page.get_by_label("Kind", exact=True).select_option("complaint")
    for label, value in {"Full name": "Zahra Ahmadi", "National ID": national_id, "Mobile phone": "09121234567",
                         "Address": "No. 12, Azadi Street, Marvdasht", "Subject": "Pension not paid",
                         "Description": f"My pension has not been paid for three months. {national_id}"}.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Search the agencies").fill("labour")
    page.get_by_label("Search the counties").fill("marvd")
    expect(page.get_by_label("County (optional)")).to_have_value("marvdasht")
    expect(page.get_by_label("Province", exact=True).locator("option:checked")).to_have_text("Fars")
    expect(page.locator("#f-county-filter-status")).to_have_text("1 found; chosen: Marvdasht")
    check_page(page)
    page.get_by_role("button", name="File and get a tracking code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your case is registered")
    tracking_code = receipt_code(page, "Tracking code")
    unit = referred_unit(portal_hub, tracking_code)  # where routing's rules sent it
    english = httpx.get(f"{portal_hub.url('routing')}/api/v1/org/places/units/{unit}", timeout=5).json()["name_en"]
    assert english and english.isascii(), unit
    page.goto("/follow")
    page.get_by_label("Tracking code").fill(tracking_code)
    page.get_by_label("National ID", exact=True).check()
    page.get_by_label("National ID, phone or access code").fill(national_id)
    page.get_by_role("button", name="Show the status").click()
    expect(page.locator("#unit")).to_have_text(english)
    check_page(page)
    page.goto(f"/r/{RATED_UNIT}")
    expect(page.locator("#unit-name")).to_have_text("Complaints Unit, Marvdasht County")
    page.goto("/open-data")
    expect(page.get_by_role("heading", name="Ministry of Cooperatives, Labour and Social Welfare")).to_be_visible()


def test_a_legal_person_files_through_its_representative_and_the_organisation_is_recorded(page, portal_hub) -> None:
    page.goto("/file")
    national_id = random_national_id()
    fill_complaint(page, national_id, **{"موضوع": "حقوق معوق کارگران شرکت"})
    page.get_by_label("از طرف").select_option("legal")
    submit_filing(page)  # the company is not named yet
    expect(field(page, "نام گروه یا شخص حقوقی (در صورت نمایندگی)")).to_contain_text("نام گروه یا شخص حقوقی را بنویسید.")
    expect(page.get_by_label("از طرف")).to_have_value("legal")
    check_page(page)

    company = "شرکت تعاونی کارگران ساختمانی ری"
    page.get_by_label("نام گروه یا شخص حقوقی (در صورت نمایندگی)").fill(company)
    submit_filing(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("پرونده شما ثبت شد")
    tracking_code = receipt_code(page, "کد رهگیری").translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    case_id = case_id_of(portal_hub, tracking_code)
    case = httpx.get(f"{portal_hub.url('intake')}/api/v1/cases/{case_id}", headers=staff_headers(), timeout=5).json()
    assert (case["complainant_type"], case["organisation_name"], case["subject"]) == ("legal", company, "حقوق معوق کارگران شرکت")
    representative = httpx.get(f"{portal_hub.url('intake')}/api/v1/cases/{case_id}/complainant", timeout=5,
                               params={"purpose": "بررسی نمایندگی شرکت در پرونده"}, headers=bearer(Role.inspector, "labour/tehran"))
    assert representative.status_code == 200, representative.text
    assert (representative.json()["full_name"], representative.json()["national_id"]) == ("زهرا احمدی", national_id)


def test_visit_ratings_reach_the_units_satisfaction_in_reporting(page, portal_hub) -> None:
    for score in ("۵", "۴", "۴", "۳", "۴"):
        page.goto(f"/r/{RATED_UNIT}")
        page.get_by_label(score, exact=True).first.check()
        page.get_by_role("button", name="ثبت نظر").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("نظر شما بدون نام ثبت شد. سپاسگزاریم.")
    check_page(page)
    page.goto(f"/r/{RATED_UNIT}")
    expect(page.locator("#unit-name")).to_contain_text("مرودشت")
    check_page(page)
    page.goto("/r/labour/fars/no-such-unit")
    expect(page.get_by_role("heading", level=1)).to_have_text("این واحد پیدا نشد")
    group = satisfaction_of(portal_hub, "labour/fars", "labour/fars/marvdasht", ratings=5)
    assert group["average"] == 4.0
    portal_log = (portal_hub.data_dir / "logs" / "web.log").read_text(encoding="utf-8")
    assert "feedback" not in portal_log and RATED_UNIT not in portal_log  # no line dates a visit


@retry(stop=stop_after_delay(20), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def satisfaction_of(hub, unit: str, group: str, ratings: int) -> dict:
    body = httpx.get(f"{hub.url('reporting')}/api/v1/satisfaction", params={"unit": unit, "period": this_month()},
                     headers=staff_headers(), timeout=5).json()
    found = {item["key"]: item for item in body["groups"]}.get(group)
    assert found is not None and found["ratings"] == ratings, body
    return found


@retry(stop=stop_after_delay(30), wait=wait_fixed(0.3), retry=retry_if_exception_type(AssertionError), reraise=True)
def open_data_of(hub, agency: str, province: str, cases: int) -> dict:
    """Reporting's public answer, once its read model counts `cases` cases in the last finished month."""
    answer = httpx.get(f"{hub.url('reporting')}/api/v1/open-data", params={"agency": agency, "province": province}, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["months"][-1]["cases_total"] == {"value": cases, "suppressed": False}, answer.json()["months"][-1]
    return answer.json()


def cases_table(body: dict, kinds: list[str], digits=TO_PERSIAN) -> list[list[str]]:
    """The cases table as the page should write reporting's answer: a row per month and the total row (the default
    window's total, hidden where its months do not give it, may be any size: "پنهان")."""
    def written(figure: dict, total: bool) -> str:
        if figure["suppressed"]:
            return "پنهان" if total else "کمتر از 5".translate(digits)
        return str(figure["value"]).translate(digits)

    def label(month: str) -> str:
        return "کل دوره" if month == "total" else f"{MONTHS_FA[int(month[5:]) - 1]} {month[:4].translate(TO_PERSIAN)}"

    return [[label(m["month"]), *(written(m["cases"][kind], m is body["total"]) for kind in kinds), written(m["cases_total"], m is body["total"])]
            for m in [*body["months"], body["total"]]]


def test_the_open_data_page_shows_reporting_numbers_hides_small_counts_and_downloads_them(page, portal_hub) -> None:
    # open data counts only finished months: the cases are facts of the last one, on the bus as intake writes them
    shiraz = Target(agency="hajj", province="fars", county="shiraz")  # no other test files cases there
    filed = last_month_at_noon()
    facts = [wrap(CaseRegistered(case_id=uuid.uuid4(), tracking_code=f"{uuid.uuid4().int % 10**11:011d}",
                                 case_number=f"{jdatetime.date.fromgregorian(date=filed.date()).year}-{uuid.uuid4().int % 10**8:08d}",
                                 kind=kind, channel="web", target=shiraz, registered_at=filed + timedelta(minutes=n)), "/hub/intake")
             for n, kind in enumerate(["complaint"] * 5 + ["request"] * 2 + ["suggestion"] * 2)]
    with ThreadPoolExecutor(1) as aside:  # Playwright's loop runs in this thread: the producer gets one of its own
        aside.submit(publish, portal_hub.bootstrap, *facts).result()
    body = open_data_of(portal_hub, "hajj", "fars", cases=9)
    month = body["months"][-1]
    assert month["month"] == body["complete_through"]
    assert month["cases"]["complaint"] == {"value": 5, "suppressed": False} and month["cases"]["request"]["suppressed"]

    page.goto("/")
    page.get_by_role("link", name="آمار باز", exact=True).click()
    check_page(page)
    page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="سازمان حج و زیارت")).get_by_text("به تفکیک استان").click()
    page.get_by_role("link", name="فارس").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("فارس")
    kinds = ["complaint", "request", "suggestion"]
    rows = page.locator("#table-cases tr")
    assert [rows.nth(i).locator("th, td").all_inner_texts() for i in range(rows.count())] == [
        ["ماه", *(KIND_NAMES[kind] for kind in kinds), "همه"], *cases_table(body, kinds)]
    last_months_row = page.locator("#table-cases tbody tr").nth(len(body["months"]) - 1)
    expect(last_months_row.locator("td").nth(1)).to_have_text("کمتر از ۵")  # 2 requests
    expect(last_months_row.locator("td").nth(0)).to_have_text("۵")
    through = body["complete_through"]
    expect(page.locator("#complete-through")).to_contain_text(f"آمار تا پایان {MONTHS_FA[int(through[5:]) - 1]} {through[:4].translate(TO_PERSIAN)}")
    expect(page.locator("svg.chart title").first).to_contain_text("پرونده‌ها")
    check_page(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="دریافت جدول‌ها (CSV)").click()
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows_of_csv = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows_of_csv[2:2 + len(body["months"]) + 1] == cases_table(body, kinds, digits=str.maketrans("", ""))


def last_month_at_noon() -> datetime:
    """Noon (Tehran) on the 15th of the Jalali month before this one: a day of the last finished month."""
    today = jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date())
    day = (jdatetime.date(today.year, today.month, 1) - timedelta(days=1)).replace(day=15)
    return datetime.combine(day.togregorian(), time(12), tzinfo=TEHRAN)


def test_the_portal_switches_to_english_left_to_right(page) -> None:
    page.goto("/")
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People–Government Hub")
    assert page.locator("html").get_attribute("dir") == "ltr"
    page.get_by_role("link", name="File a case").first.click()
    expect(page.get_by_label("National ID")).to_be_visible()
    check_page(page)
    page.get_by_role("link", name="فارسی").click()
    assert page.locator("html").get_attribute("dir") == "rtl"


def staff_account(hub, name: str, role: Role, unit: str) -> str:
    """A local account in the registry the portal reads (users.json in the hub's data folder); its password."""
    from hub_shared.passwords import hash_password
    from hub_shared.users import User, UserRegistry

    password = f"{name}-password-long"
    UserRegistry(hub.data_dir / "users.json").add(User(subject=name, role=role, unit=unit, password_hash=hash_password(password)))
    return password


def sign_in(page: Page, name: str, password: str) -> None:
    page.goto("/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("ورود کارکنان")
    page.get_by_label("نام کاربری").fill(name)
    page.get_by_label("گذرواژه").fill(password)
    page.get_by_role("button", name="ورود").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("کارتابل")


def test_an_expert_sees_a_citizens_case_in_the_cartable_and_a_supervisor_of_another_province_is_refused_it(page, portal_hub) -> None:
    filed = submit(portal_hub, target={"agency": "labour", "province": "tehran", "county": "rey"})
    assert referred_unit(portal_hub, filed["tracking_code"]) == REY_OFFICE
    expert = staff_account(portal_hub, "e2e-expert-tehran", Role.expert, "labour/tehran")
    page.goto("/staff/sign-in")
    check_page(page)
    page.get_by_label("نام کاربری").fill("e2e-expert-tehran")
    page.get_by_label("گذرواژه").fill("not the password at all")
    page.get_by_role("button", name="ورود").click()
    expect(page.locator(".error-summary")).to_contain_text("نام کاربری یا گذرواژه درست نیست")
    sign_in(page, "e2e-expert-tehran", expert)
    code = filed["tracking_code"].translate(TO_PERSIAN)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def in_the_cartable() -> None:  # follow-up takes the referral from the bus in its own time
        page.goto("/staff")
        page.get_by_label("کد رهگیری").fill(code)
        page.get_by_role("button", name="جستجو").click()
        expect(page.get_by_role("link", name=code)).to_be_visible(timeout=500)

    in_the_cartable()
    expect(page.locator("#total")).to_have_text("۱")
    expect(page.locator("table.inbox")).to_contain_text("روز کاری مانده")
    check_page(page)
    page.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(filed["case_number"].translate(TO_PERSIAN))
    expect(page.locator("#deadline")).to_contain_text("روز کاری مانده")
    expect(page.locator("main")).not_to_contain_text("مریم کاظمی")  # the complainant's name stays behind its own API
    case_url = page.url
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case {filed['case_number']}")
    assert page.locator("html").get_attribute("dir") == "ltr"
    check_page(page)
    page.get_by_role("link", name="فارسی").click()
    page.get_by_label("هدف از دیدن اطلاعات هویتی").fill("تماس با شاکی برای دریافت مدارک")
    page.get_by_role("button", name="نمایش اطلاعات هویتی").click()
    expect(page.locator("#person")).to_contain_text("مریم کاظمی")  # a POST: the personal data reaches no URL
    assert page.url == case_url + "/complainant"
    check_page(page)
    page.get_by_role("button", name="خروج").click()
    expect(page.locator("[role=status]")).to_have_text("از سامانه خارج شدید.")
    page.goto(case_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("ورود کارکنان")

    supervisor = staff_account(portal_hub, "e2e-supervisor-fars", Role.provincial_supervisor, "labour/fars")
    sign_in(page, "e2e-supervisor-fars", supervisor)
    page.get_by_label("کد رهگیری").fill(code)
    page.get_by_role("button", name="جستجو").click()
    expect(page.locator("#empty")).to_be_visible()
    page.goto(case_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("دسترسی داده نشد")
    expect(page.locator("#reason")).to_have_text("این پرونده خارج از واحدهای تحت مسئولیت شماست.")
    check_page(page)


def test_a_form_posted_from_elsewhere_is_refused(portal_hub) -> None:
    response = httpx.post(f"{portal_hub.url('web')}/follow", data={"tracking_code": "12345678901", "proof": "0084575948"})
    assert response.status_code == 403 and "فرم منقضی شده است" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_hub_screenshots_saves_every_page_at_a_phones_and_a_laptops_width(portal_hub, tmp_path) -> None:
    hub_command = Path(sys.executable).with_name("hub")
    done = subprocess.run([str(hub_command), "screenshots", "--url", portal_hub.url("web"), "--out", str(tmp_path), "--sample-case"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = ("home", "file", "follow", "rate", "open-data", "open-data-province", "file-errors", "receipt", "case")
    for size, width in (("phone", 390), ("laptop", 1366)):
        for name in pages:
            header = (tmp_path / f"{name}-{size}.png").read_bytes()[:24]
            assert header[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(header[16:20], "big") == width, (name, size)


def test_hub_unit_qr_writes_the_rating_links_code_for_a_unit_of_the_tree_and_refuses_any_other(portal_hub, tmp_path) -> None:
    hub_command = str(Path(sys.executable).with_name("hub"))
    common = ["--portal-url", portal_hub.url("web"), "--routing-url", portal_hub.url("routing"), "--out", str(tmp_path)]
    done = subprocess.run([hub_command, "unit", "qr", RATED_UNIT, *common], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    link = f"{portal_hub.url('web')}/r/{RATED_UNIT}"
    assert link in done.stdout.splitlines()
    stem = tmp_path / RATED_UNIT.replace("/", "_")
    assert stem.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in stem.with_suffix(".svg").read_text(encoding="utf-8")
    assert "مرودشت" in httpx.get(link, timeout=5).text  # the link on the poster opens the unit's rating page
    refused = subprocess.run([hub_command, "unit", "qr", "labour/fars/nowhere", *common], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "not a unit of the organisation tree" in refused.stderr
    assert not (tmp_path / "labour_fars_nowhere.png").exists()
