"""`hub screenshots`: full-page pictures of every page of the citizen's portal at a phone's and a laptop's size,
for the docs and for review. Drives Debian's Chromium (the one the browser tests use) against a running portal.

With `--sample-case` it also files one anonymous misconduct report (no personal data) to show the receipt and
the case pages; leave it off against a hub that holds real cases."""

from pathlib import Path

import typer

SIZES = {"phone": (390, 844), "laptop": (1366, 768)}
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE_UNIT = "labour/tehran/rey/performance-office"


def screenshots(url: str = typer.Option("http://127.0.0.1:8000", help="the portal"),
                out: Path = typer.Option(Path("docs/screenshots"), help="folder for the PNG files"),
                sample_case: bool = typer.Option(False, help="also file one anonymous sample report, to show the receipt and case pages"),
                ) -> None:
    """Save full-page screenshots of every page at 390×844 and 1366×768."""
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
