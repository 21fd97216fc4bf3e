"""The work on a case through the staff's pages, in a real browser in front of the running hub on the real broker:
an expert of a province's performance office adds a document and refers the case down to a county office, and it leaves the expert's cartable; the unit's
responder answers with a document; the office manager approves the final answer with its legal grounds; the
citizen's tracking page shows it; a supervisor of another province gets nothing of the case. axe-core runs on each
page, folded forms opened."""

import pytest
from playwright.sync_api import Page, expect
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.testing import random_national_id

from .helpers import submit
from .test_web_portal import (PDF, TO_PERSIAN, browser, check_page, follow, new_page, referred_unit,  # noqa: F401
                              sign_in, staff_account)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
OFFICE = "health/tehran/performance-office"  # where a health complaint about Tehran is referred
COUNTY = "health/tehran/tehran-city"  # the county office beside it, under the province's directorate
FINAL = "معوقات مستمری شما پرداخت شد و از این ماه مستمری به‌موقع واریز می‌شود."


def open_from_cartable(page: Page, code: str) -> None:
    """Find the case in the cartable by its tracking code (follow-up learns of a move from the bus) and open it."""
    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def listed() -> None:
        page.goto("/staff")
        page.get_by_label("کد رهگیری").fill(code)
        page.get_by_role("button", name="جستجو").click()
        expect(page.get_by_role("link", name=code)).to_be_visible(timeout=500)

    listed()
    page.get_by_role("link", name=code).click()


def action(page: Page, title: str):
    """The folded form of a step, opened."""
    page.locator("details.action summary", has_text=title).click()
    return page.locator("details.action[open] form")


def test_a_case_is_referred_down_answered_with_a_document_approved_and_read_by_the_citizen(browser, portal_hub) -> None:  # noqa: F811
    page = new_page(browser, portal_hub)
    national_id = random_national_id()
    filed = submit(portal_hub, national_id=national_id, target={"agency": "health", "province": "tehran", "county": None})
    assert referred_unit(portal_hub, filed["tracking_code"]) == OFFICE
    code = filed["tracking_code"].translate(TO_PERSIAN)

    sign_in(page, "e2e-cw-expert", staff_account(portal_hub, "e2e-cw-expert", Role.expert, OFFICE))
    open_from_cartable(page, code)
    case_url = page.url
    expect(page.locator("#no-files")).to_be_visible()
    expect(page.locator("#deadline")).to_contain_text("روز کاری مانده")
    expect(page.locator("#ladder")).to_contain_text("روز کاری پیش از مهلت")
    expect(page.locator("details.action summary")).to_have_count(11)  # an expert's steps; approving is the manager's
    expect(page.locator("details.action summary", has_text="تأیید پاسخ نهایی")).to_have_count(0)
    check_page(page)
    page.get_by_role("link", name="English").click()
    transfer = action(page, "Transfer to another agency")
    expect(transfer).to_contain_text("The deadline is kept")
    expect(page.locator("#ladder")).to_contain_text("working days before the deadline")
    check_page(page)
    page.get_by_role("link", name="فارسی").click()

    document = action(page, "افزودن سند به پرونده")
    document.get_by_label("مدارک (PDF، JPEG، PNG یا TIFF) (اختیاری)").set_input_files(
        {"name": "گزارش-کارشناسی.pdf", "mimeType": "application/pdf", "buffer": PDF})
    document.get_by_role("button", name="بارگذاری سند").click()
    expect(page.locator("#done")).to_have_text("سند به پرونده افزوده شد.")
    check_page(page)
    page.get_by_role("link", name="بازگشت به پرونده").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="گزارش-کارشناسی.pdf").click()
    assert download.value.suggested_filename == "گزارش-کارشناسی.pdf"
    assert open(download.value.path(), "rb").read() == PDF

    forward = action(page, "ارجاع به واحد زیرمجموعه")
    expect(forward).to_contain_text("مهلت پاسخ پرونده تغییر نمی‌کند.")
    forward.get_by_label("واحد مقصد").select_option(COUNTY)
    check_page(page)
    forward.get_by_role("button", name="ارجاع").click()  # no reason given: refused here, the choice kept
    expect(page.locator(".error-summary")).to_contain_text("دلیل ارجاع را بنویسید (۳ تا ۱۰۰۰ حرف).")
    expect(page.get_by_label("واحد مقصد")).to_have_value(COUNTY)
    check_page(page)
    page.get_by_label("دلیل ارجاع").fill("موضوع مستمری در صلاحیت واحد مستمری است")
    page.get_by_role("button", name="ارجاع").click()
    expect(page.locator("#done")).to_have_text("پرونده به واحد مقصد ارجاع شد.")

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def left_the_cartable() -> None:
        page.goto("/staff")
        page.get_by_label("کد رهگیری").fill(code)
        page.get_by_role("button", name="جستجو").click()
        expect(page.locator("#empty")).to_be_visible(timeout=500)

    left_the_cartable()
    page.get_by_role("button", name="خروج").click()

    sign_in(page, "e2e-cw-responder", staff_account(portal_hub, "e2e-cw-responder", Role.unit_responder, COUNTY))
    open_from_cartable(page, code)
    expect(page.locator("details.action summary")).to_have_text(["پاسخ واحد"])
    response = action(page, "پاسخ واحد")
    response.get_by_label("متن پاسخ").fill("پرونده مستمری بررسی شد و دستور پرداخت معوقات صادر شد.")
    response.get_by_label("مدارک (PDF، JPEG، PNG یا TIFF) (اختیاری)").set_input_files(
        {"name": "دستور-پرداخت.pdf", "mimeType": "application/pdf", "buffer": PDF + b"payment order"})
    response.get_by_label("گزارش-کارشناسی.pdf").check()
    check_page(page)
    response.get_by_role("button", name="ثبت پاسخ واحد").click()
    expect(page.locator("#done")).to_have_text("پاسخ واحد ثبت شد.")
    page.get_by_role("button", name="خروج").click()

    manager = staff_account(portal_hub, "e2e-cw-manager", Role.office_manager, "health/tehran")
    sign_in(page, "e2e-cw-manager", manager)
    page.goto(case_url)
    work = page.locator("#work")
    expect(work).to_contain_text("پرونده مستمری بررسی شد و دستور پرداخت معوقات صادر شد.")
    expect(work.get_by_role("link", name="گزارش-کارشناسی.pdf")).to_be_visible()
    file_url = work.get_by_role("link", name="گزارش-کارشناسی.pdf").get_attribute("href")
    expect(work).to_contain_text("سند نزد دستگاه؛ اثر انگشت")  # the responder's own file: the agency keeps it
    expect(page.locator("#stage")).to_contain_text("پاسخ واحد ثبت شده")
    approval = action(page, "تأیید پاسخ نهایی")
    approval.get_by_label("پاسخ نهایی به شهروند").fill(FINAL)
    approval.get_by_label("نتیجه").select_option("upheld")
    approval.get_by_label("مستند قانونی").fill("ماده ۱۲ قانون تأمین اجتماعی")
    check_page(page)
    approval.get_by_role("button", name="تأیید و ارسال پاسخ نهایی").click()
    expect(page.locator("#done")).to_have_text("پاسخ نهایی تأیید و برای شهروند فرستاده شد.")
    check_page(page)
    page.context.close()
    page = new_page(browser, portal_hub, javascript=False)  # a browser that runs no script: the forms work the same
    sign_in(page, "e2e-cw-manager", manager)
    page.goto(case_url)
    again = action(page, "تأیید پاسخ نهایی")  # a second approval: followup refuses it, in its own words
    again.get_by_label("پاسخ نهایی به شهروند").fill("پاسخ دوم")
    again.get_by_label("نتیجه").select_option("upheld")
    again.get_by_label("مستند قانونی").fill("ماده ۱۲")
    again.get_by_role("button", name="تأیید و ارسال پاسخ نهایی").click()
    expect(page.locator("#refusal")).to_have_text("این پرونده در جریان رسیدگی نیست (پاسخ داده، اعاده، مردود یا بایگانی شده است).")
    expect(page.get_by_label("پاسخ نهایی به شهروند")).to_have_value("پاسخ دوم")
    page.context.close()
    page = new_page(browser, portal_hub)

    follow(page, filed["tracking_code"], national_id, expected=FINAL)
    expect(page.locator("main")).to_contain_text("ماده ۱۲ قانون تأمین اجتماعی")

    supervisor = staff_account(portal_hub, "e2e-cw-supervisor-fars", Role.provincial_supervisor, "health/fars")
    sign_in(page, "e2e-cw-supervisor-fars", supervisor)
    page.goto(case_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("دسترسی داده نشد")
    expect(page.locator("#reason")).to_have_text("این پرونده خارج از واحدهای تحت مسئولیت شماست.")
    check_page(page)
    page.goto(file_url)  # nor its documents
    expect(page.get_by_role("heading", level=1)).to_have_text("دسترسی داده نشد")
    page.context.close()


def test_an_expert_transfers_a_case_keeping_its_deadline_and_rejects_another_for_a_legal_reason(browser, portal_hub) -> None:  # noqa: F811
    office = "labour/tehran/performance-office"
    national_id = random_national_id()
    moved, rejected = (submit(portal_hub, national_id=national_id if n else random_national_id(),
                              target={"agency": "labour", "province": "tehran", "county": None}) for n in (0, 1))
    assert referred_unit(portal_hub, moved["tracking_code"]) == office == referred_unit(portal_hub, rejected["tracking_code"])
    page = new_page(browser, portal_hub)
    sign_in(page, "e2e-cw-expert-tehran", staff_account(portal_hub, "e2e-cw-expert-tehran", Role.expert, office))

    open_from_cartable(page, moved["tracking_code"].translate(TO_PERSIAN))
    deadline = page.locator("#deadline").inner_text()
    transfer = action(page, "انتقال به دستگاه دیگر")
    expect(transfer).to_contain_text("مهلت پاسخ حفظ می‌شود")
    transfer.get_by_label("دستگاه مقصد").select_option("interior")
    transfer.get_by_label("دلیل انتقال").fill("موضوع در صلاحیت وزارت کشور است")
    transfer.get_by_role("button", name="انتقال پرونده").click()
    expect(page.locator("#done")).to_have_text("پرونده به دستگاه مقصد منتقل شد.")
    check_page(page)
    interior = staff_account(portal_hub, "e2e-cw-expert-interior", Role.expert, "interior/tehran")
    page.get_by_role("button", name="خروج").click()
    sign_in(page, "e2e-cw-expert-interior", interior)
    open_from_cartable(page, moved["tracking_code"].translate(TO_PERSIAN))  # the other agency's office has it now
    expect(page.locator("#deadline")).to_have_text(deadline)  # the same date, the same working days left
    page.get_by_role("button", name="خروج").click()

    sign_in(page, "e2e-cw-expert-tehran", staff_account_password("e2e-cw-expert-tehran"))
    open_from_cartable(page, rejected["tracking_code"].translate(TO_PERSIAN))
    reject = action(page, "رد پرونده (مردود)")
    reject.get_by_label("علت قانونی رد").select_option("unreasoned")
    reject.get_by_label("توضیح برای سابقه پرونده (اختیاری)").fill("هیچ مدرکی پیوست نشده است")
    check_page(page)
    reject.get_by_role("button", name="رد پرونده").click()
    expect(page.locator("#done")).to_have_text("پرونده رد شد و علت آن به شهروند اعلام می‌شود.")
    page.context.close()

    citizen = new_page(browser, portal_hub)
    follow(citizen, rejected["tracking_code"], national_id, expected="شکایت مستدل و مستند نیست")
    check_page(citizen)
    citizen.context.close()


def staff_account_password(name: str) -> str:
    return f"{name}-password-long"  # as staff_account makes it
