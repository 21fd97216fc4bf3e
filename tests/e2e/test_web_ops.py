"""The ops console in a real browser (Debian's Chromium through Playwright) in front of the running hub on the real
broker: an operator finds a dead letter, replays it from the console and sees the case it carried applied (its trace
in reporting); each console page passes axe-core; the replay is in the service's audit log; an expert is refused."""

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from playwright.sync_api import expect
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_shared.auth import Role
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import CaseRegistered, Target
from hub_shared.topics import CASES, DLQ

from .helpers import log_lines
from .test_web_portal import TO_PERSIAN, browser, check_page, page, staff_account  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def dead_letter(bootstrap: str, event: CaseRegistered) -> str:
    """The event as reporting's consumer dead-letters one it failed on: the original record, the reason in headers.
    Its id in the DLQ (`partition:offset`)."""
    key, value, headers = to_kafka(wrap(event, "/hub/intake"))

    async def run() -> str:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(DLQ.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()] + [
                ("hub_dlq_origin_topic", CASES.name.encode()), ("hub_dlq_origin_partition", b"0"), ("hub_dlq_origin_offset", b"0"),
                ("hub_dlq_consumer_group", b"reporting"), ("hub_dlq_attempts", b"3"),
                ("hub_dlq_error", b"OperationalError: database is locked")])
        finally:
            await producer.stop()
        return f"{sent.partition}:{sent.offset}"

    with ThreadPoolExecutor(1) as aside:  # Playwright's loop runs in this thread: the producer gets one of its own
        return aside.submit(asyncio.run, run()).result()


def sign_in_as(page, name: str, password: str) -> None:
    page.goto("/staff/sign-in")
    page.get_by_label("نام کاربری").fill(name)
    page.get_by_label("گذرواژه").fill(password)
    page.get_by_role("button", name="ورود").click()


def test_an_operator_replays_a_dead_letter_from_the_console_and_it_is_applied(page, portal_hub) -> None:
    case_id, code = uuid.uuid4(), f"{uuid.uuid4().int % 10**11:011d}"
    event = CaseRegistered(case_id=case_id, tracking_code=code, case_number=f"1405-{uuid.uuid4().int % 10**8:08d}", kind="complaint",
                           channel="web", target=Target(agency="labour", province="tehran", county="rey"), registered_at=datetime.now(UTC))
    letter = dead_letter(portal_hub.bootstrap, event)
    password = staff_account(portal_hub, "e2e-ops", Role.ops, "national")
    sign_in_as(page, "e2e-ops", password)
    expect(page.get_by_role("heading", level=1)).to_have_text("کنسول عملیات")  # an operator lands on the console
    expect(page.locator("#broker")).to_have_text("در دسترس")
    for service in ("intake", "routing", "followup", "reporting", "samad-gateway"):
        expect(page.locator(f"#service-{service}")).to_be_visible()
    expect(page.locator("table.lag")).to_contain_text("reporting")
    check_page(page)

    page.get_by_role("link", name="ردگیری پرونده").click()
    check_page(page)
    page.get_by_label("کد رهگیری یا شناسه پرونده").fill(code)
    page.get_by_role("button", name="ردگیری").click()
    expect(page.locator("#reason")).to_have_text("پرونده‌ای با این شناسه یا کد رهگیری یافت نشد.")  # not applied yet

    page.get_by_role("link", name="نامه‌های مرده").click()
    row = page.locator("tr", has=page.get_by_text(str(case_id), exact=True))
    expect(row).to_contain_text("OperationalError: database is locked")
    expect(row).to_contain_text("reporting")
    check_page(page)
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="فرستادن دوباره نامه‌های انتخاب‌شده").click()
    expect(page.locator("#outcome")).to_contain_text(f"دوباره فرستاده شد: {letter}")
    check_page(page)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def traced() -> None:  # reporting applies the replayed event in its own time
        page.goto(f"/staff/ops/trace?code={code}")
        expect(page.locator("ol.steps li").first).to_contain_text("ir.hub.case.registered.v1", timeout=500)

    traced()
    expect(page.locator("h2#case-title")).to_contain_text(code.translate(TO_PERSIAN))
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trace a case")
    check_page(page)
    page.get_by_role("link", name="فارسی").click()

    for link, heading in (("پرونده‌های نگه‌داشته", "پرونده‌های نگه‌داشته"), ("صف خروجی متوقف", "صف خروجی متوقف")):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check_page(page)

    audits = [json.loads(line) for line in log_lines(portal_hub) if '"hub.ops.audit"' in line]
    assert any(entry["actor"] == "e2e-ops" and entry["action"] == "dead-letters.replay" and entry["targets"] == [letter]
               and entry["service"] == "reporting" for entry in audits), audits


def test_an_expert_is_refused_the_console_by_the_services(page, portal_hub) -> None:
    password = staff_account(portal_hub, "e2e-expert-ops-page", Role.expert, "labour/tehran")
    sign_in_as(page, "e2e-expert-ops-page", password)
    expect(page.get_by_role("heading", level=1)).to_have_text("کارتابل")
    expect(page.get_by_role("link", name="کنسول عملیات")).to_have_count(0)
    page.goto("/staff/ops/dead-letters")
    expect(page.get_by_role("heading", level=1)).to_have_text("دسترسی داده نشد")
    expect(page.locator("#reason")).to_have_text("این دسترسی (ops:admin) برای نقش شما تعریف نشده است.")
    check_page(page)
