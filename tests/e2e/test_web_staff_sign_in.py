"""Staff sign-in and the cartable in a real browser (Debian's Chromium through Playwright) in front of the running hub
on the real broker: signing in at an identity provider the test runs (OpenID Connect with PKCE), changing one's
password (which signs out the other browser), and the cartable's search, filters, tabs and deadline risk; axe-core
finds no serious or critical accessibility problem on any of these pages."""

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import expect
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_cli.stack import WEB, free_port
from hub_shared.auth import Role
from tests.oidc_provider import IdentityProvider, running_provider

from .helpers import submit
from .test_web_portal import REY_OFFICE, TO_PERSIAN, browser, check_page, new_page, page, referred_unit, sign_in, staff_account  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
EXPERT_CLAIMS = {"preferred_username": "e-3001", "hub_role": "expert", "hub_unit": "labour/tehran",
                 "scope": "openid profile cases:read timers:read personal-data:read"}


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with running_provider({"e-3001": EXPERT_CLAIMS}) as idp:
        yield idp


@pytest.fixture(scope="module")
def sso_web(portal_hub, provider) -> str:
    """A second portal process on the same hub, signing staff in at the provider as well as with local accounts."""
    port = free_port()
    portal_hub.start_service(replace(WEB, name="web-sso"), port=port, extra_env={
        "HUB_WEB_INTAKE_URL": portal_hub.url("intake"), "HUB_WEB_ROUTING_URL": portal_hub.url("routing"),
        "HUB_WEB_REPORTING_URL": portal_hub.url("reporting"), "HUB_WEB_FOLLOWUP_URL": portal_hub.url("followup"),
        **provider.settings_env()})
    portal_hub.wait_ready(["web-sso"], timeout=30)
    return portal_hub.url("web-sso")


def test_an_expert_signs_in_at_the_identity_provider_and_reaches_the_cartable(browser, sso_web, provider) -> None:
    context = browser.new_context(base_url=sso_web, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("ورود کارکنان")
    check_page(page)
    page.get_by_role("link", name="ورود با حساب سازمانی").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test identity provider")
    assert "code_challenge_method=S256" in page.url and "code_verifier" not in page.url
    page.get_by_role("button", name="Sign in as e-3001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("کارتابل")  # the refresh after the provider's redirect carries the cookie
    assert page.url == f"{sso_web}/staff", "no code or state left in the address"
    expect(page.locator(".who")).to_contain_text("e-3001")
    check_page(page)
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["hub_staff"]["httpOnly"] and cookies["hub_staff"]["sameSite"] == "Strict" and "hub_oidc" not in cookies
    assert provider.token_requests[-1]["code_verifier"]
    page.get_by_role("link", name="تغییر گذرواژه").click()
    expect(page.locator("#sso-account")).to_contain_text("در همان سامانه تغییر دهید")
    check_page(page)
    page.get_by_role("button", name="خروج").click()
    expect(page.locator("[role=status]")).to_have_text("از سامانه خارج شدید.")
    page.goto("/staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("ورود کارکنان")
    context.close()


def test_changing_the_password_signs_out_the_other_browser_and_the_new_one_signs_in(browser, portal_hub) -> None:
    password = staff_account(portal_hub, "e2e-changer", Role.expert, "labour/tehran")
    here, elsewhere = new_page(browser, portal_hub), new_page(browser, portal_hub)
    sign_in(here, "e2e-changer", password)
    sign_in(elsewhere, "e2e-changer", password)
    here.get_by_role("link", name="تغییر گذرواژه").click()
    expect(here.get_by_role("heading", level=1)).to_have_text("تغییر گذرواژه")
    check_page(here)
    here.get_by_label("گذرواژه کنونی").fill(password)
    here.get_by_label("گذرواژه تازه", exact=True).fill("autumn leaves on a quiet road")
    here.get_by_label("تکرار گذرواژه تازه").fill("autumn leaves on a quiet rood")
    here.get_by_role("button", name="تغییر گذرواژه").click()
    expect(here.locator(".error-summary")).to_contain_text("تکرار گذرواژه تازه با خود آن یکی نیست")
    expect(here.locator("#e-again")).to_be_visible()
    check_page(here)
    here.get_by_label("گذرواژه کنونی").fill(password)
    here.get_by_label("گذرواژه تازه", exact=True).fill("autumn leaves on a quiet road")
    here.get_by_label("تکرار گذرواژه تازه").fill("autumn leaves on a quiet road")
    here.get_by_role("button", name="تغییر گذرواژه").click()
    expect(here.locator("[role=status]")).to_contain_text("گذرواژه شما تغییر کرد")
    here.goto("/staff")
    expect(here.get_by_role("heading", level=1)).to_have_text("کارتابل")
    elsewhere.goto("/staff")
    expect(elsewhere.get_by_role("heading", level=1)).to_have_text("ورود کارکنان")
    elsewhere.get_by_label("نام کاربری").fill("e2e-changer")
    elsewhere.get_by_label("گذرواژه").fill(password)
    elsewhere.get_by_role("button", name="ورود").click()
    expect(elsewhere.locator(".error-summary")).to_contain_text("نام کاربری یا گذرواژه درست نیست")
    sign_in(elsewhere, "e2e-changer", "autumn leaves on a quiet road")
    here.context.close()
    elsewhere.context.close()


def test_the_cartable_finds_a_case_by_its_number_filters_by_channel_and_unit_and_counts_its_tabs(page, portal_hub) -> None:
    filed = submit(portal_hub, target={"agency": "labour", "province": "tehran", "county": "rey"})
    assert referred_unit(portal_hub, filed["tracking_code"]) == REY_OFFICE
    sign_in(page, "e2e-cartable", staff_account(portal_hub, "e2e-cartable", Role.expert, "labour/tehran"))
    number, code = filed["case_number"].translate(TO_PERSIAN), filed["tracking_code"].translate(TO_PERSIAN)

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.5), retry=retry_if_exception_type(AssertionError), reraise=True)
    def found_by_number() -> None:  # follow-up takes the registration and the referral from the bus in its own time
        page.goto("/staff")
        page.get_by_label("شماره پرونده یا کد رهگیری").fill(number)
        page.get_by_role("button", name="جستجو").click()
        expect(page.get_by_role("link", name=code)).to_be_visible(timeout=500)

    found_by_number()
    row = page.locator("table.inbox tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("وبگاه")
    expect(row.locator(".risk")).to_have_text("در مهلت")  # 30 working days: the risk in words, not colour alone
    expect(row).to_contain_text("روز کاری مانده")
    expect(page.locator("#tab-all")).to_contain_text("(۱)")
    check_page(page)
    page.get_by_label("مسیر دریافت").select_option(label="سامد")
    page.get_by_role("button", name="جستجو").click()
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#tab-all")).to_contain_text("(۰)")
    page.get_by_label("مسیر دریافت").select_option(label="وبگاه")
    page.get_by_label("واحد").select_option(value="labour/tehran/rey")
    page.get_by_role("button", name="جستجو").click()
    expect(page.get_by_role("link", name=code)).to_be_visible()
    page.get_by_label("واحد").select_option(value="labour/tehran/tehran-city")
    page.get_by_role("button", name="جستجو").click()
    expect(page.locator("#empty")).to_be_visible()
    page.get_by_label("واحد").select_option(value="")
    page.get_by_label("شماره پرونده یا کد رهگیری").fill("")
    page.get_by_role("button", name="جستجو").click()
    page.locator("#tab-in_progress").click()
    expect(page.locator("#tab-in_progress")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=code)).to_be_visible()
    page.locator("#tab-responded").click()
    expect(page.locator("#tab-responded")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=code)).to_have_count(0)
    check_page(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("#tab-all")).to_contain_text("All")
    assert page.locator("html").get_attribute("dir") == "ltr"
    check_page(page)
    page.get_by_role("link", name="فارسی").click()
