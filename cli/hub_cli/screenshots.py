"""`hub screenshots`: full-page pictures of every page of the citizen's portal at a phone's and a laptop's size,
for the docs and for review. Drives Debian's Chromium (the one the browser tests use) against a running portal.

With `--sample-case` it also files one anonymous misconduct report (no personal data) to show the receipt and
the case pages; leave it off against a hub that holds real cases. With `--staff NAME` (repeatable; the password of
each from HUB_STAFF_PASSWORD, never on the command line) it signs in and takes the staff's pages as that account
sees them, named after the account: the cartable, the first case in it, the dashboards, the reports, the
supervision view, the ops console and the password page."""

import os

from pathlib import Path

import typer

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE_UNIT = "labour/tehran/rey/performance-office"
STAFF_PAGES = (("cartable", "/staff"), ("satisfaction", "/staff/satisfaction"), ("reports", "/staff/reports"),
               ("centre", "/staff/centre"), ("ops", "/staff/ops"), ("password", "/staff/account/password"))


def screenshots(url: str = typer.Option("http://127.0.0.1:8000", help="the portal"),
                out: Path = typer.Option(Path("docs/screenshots"), help="folder for the PNG files"),
                sample_case: bool = typer.Option(False, help="also file one anonymous sample report, to show the receipt and case pages"),
                staff: list[str] = typer.Option([], help="a staff account whose pages to take too (password: HUB_STAFF_PASSWORD)"),
                ) -> None:
    """Save full-page screenshots of every page at 390×844 and 1366×768."""
    password = os.environ.get("HUB_STAFF_PASSWORD", "")
    if staff and not password:
        raise SystemExit("--staff needs the accounts' password in HUB_STAFF_PASSWORD")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("hub screenshots needs playwright: run it as ./hub screenshots (./hub installs it)") from None
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium (./hub test installs it)")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        for size, (width, height) in SIZES.items():
            page = browser.new_page(base_url=url, viewport={"width": width, "height": height})
            for name in _pages(page, sample_case):
                page.screenshot(path=str(out / f"{name}-{size}.png"), full_page=True)
                print(out / f"{name}-{size}.png")
            page.close()
            for account in staff:
                context = browser.new_context(base_url=url, viewport={"width": width, "height": height})
                page = context.new_page()
                for name in _staff_pages(page, account, password):
                    page.screenshot(path=str(out / f"{account}-{name}-{size}.png"), full_page=True)
                    print(out / f"{account}-{name}-{size}.png")
                context.close()
        browser.close()


def _pages(page, sample_case: bool):
    """Go to each page in turn, yielding its name once it shows."""
    for name, path in (("home", "/"), ("file", "/file"), ("follow", "/follow"), ("rate", f"/r/{SAMPLE_UNIT}"),
                       ("open-data", "/open-data"), ("open-data-province", "/open-data/labour/tehran")):
        page.goto(path)
        yield name
    page.goto("/file")
    page.locator("button[type=submit]").click()
    yield "file-errors"
    if sample_case:
        yield from _sample_case(page)


def _sample_case(page):
    page.goto("/file?kind=misconduct_report")
    page.locator("#f-anonymous").check()
    page.locator("#f-agency").select_option("labour")
    page.locator("#f-province").select_option("tehran")
    page.locator("#f-subject").fill("درخواست رشوه برای صدور مجوز")
    page.locator("#f-description").fill("نمونه‌ای برای تصویر صفحه‌ها: کارمندی برای صدور مجوز مبلغی خواست.")
    page.locator("button[type=submit]").click()
    yield "receipt"
    tracking_code, access_code = page.locator("#tracking-code").inner_text(), page.locator("#access-code").inner_text()
    page.goto("/follow")
    page.locator("#f-tracking_code").fill(tracking_code)
    page.locator("#p-access_code").check()
    page.locator("#f-proof").fill(access_code)
    page.locator("button[type=submit]").click()
    yield "case"


def _staff_pages(page, account: str, password: str):
    page.goto("/staff/sign-in")
    yield "sign-in"
    page.locator("#f-username").fill(account)
    page.locator("#f-password").fill(password)
    page.locator("form[action='/staff/sign-in'] button[type=submit]").click()
    page.wait_for_load_state()
    if page.url.endswith("/staff/sign-in"):
        raise SystemExit(f"{account} could not sign in: check the name and HUB_STAFF_PASSWORD")
    for name, path in STAFF_PAGES:
        page.goto(path)
        yield name
    page.goto("/staff")
    first = page.locator("a[href^='/staff/cases/']").first
    if first.count():
        first.click()
        page.wait_for_load_state()
        yield "case"
