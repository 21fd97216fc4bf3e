"""`hub unit qr UNIT`: the PNG and the SVG, read back by a real QR decoder (zxing-cpp), say the unit's rating link.
The SVG is drawn by Chromium (the browser tests' Debian Chromium, through Playwright), as a print shop's software
or a browser would draw it, and the picture decoded. Routing is a stand-in answering the unit look-up."""

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from hub_cli.main import app

UNIT, UNIT_NAME = "labour/fars/marvdasht/performance-office", "اداره تعاون، کار و رفاه اجتماعی مرودشت"
PORTAL = "https://portal.example.ir"
CHROMIUM = Path("/usr/bin/chromium")


class Routing(BaseHTTPRequestHandler):
    """GET /api/v1/org/places/units/{id}: the unit's name, or 404 for any other id."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        known = self.path == f"/api/v1/org/places/units/{UNIT}"
        body = json.dumps({"id": UNIT, "name_fa": UNIT_NAME} if known else {"error": {"code": "unknown_unit"}}).encode()
        self.send_response(200 if known else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def routing_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Routing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def written(routing_url, tmp_path_factory) -> Path:
    """The files `hub unit qr` writes for UNIT: their common stem."""
    out = tmp_path_factory.mktemp("qr")
    done = CliRunner().invoke(app, ["unit", "qr", UNIT, "--portal-url", PORTAL, "--routing-url", routing_url, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"{PORTAL}/r/{UNIT}" in done.output.splitlines()
    return out / UNIT.replace("/", "_")


def decoded(picture: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(picture)
    assert all(code.format == zxingcpp.BarcodeFormat.QRCode and code.valid for code in found), found
    return [code.text for code in found]


def test_the_png_decodes_to_the_units_rating_link(written) -> None:
    picture = Image.open(written.with_suffix(".png"))
    assert decoded(picture) == [f"{PORTAL}/r/{UNIT}"]
    # still read when printed small and photographed blurred: a quarter of the size
    assert decoded(picture.convert("L").resize((picture.width // 4, picture.height // 4), Image.Resampling.BILINEAR)) == [f"{PORTAL}/r/{UNIT}"]


@pytest.mark.browser
def test_the_svg_drawn_by_a_browser_decodes_to_the_same_link(written) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `./hub test` installs Debian's chromium (apt-get install chromium)")
    svg = written.with_suffix(".svg")
    assert UNIT_NAME in svg.read_text(encoding="utf-8"), "the SVG's title names the unit"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(svg.as_uri())
            shot = page.locator("svg").screenshot()
        finally:
            browser.close()
    assert decoded(Image.open(io.BytesIO(shot))) == [f"{PORTAL}/r/{UNIT}"]


def test_a_unit_outside_the_tree_gets_no_code(routing_url, tmp_path) -> None:
    refused = CliRunner().invoke(app, ["unit", "qr", "labour/fars/nowhere", "--portal-url", PORTAL, "--routing-url", routing_url,
                                       "--out", str(tmp_path)])
    assert refused.exit_code != 0 and "not a unit of the organisation tree" in refused.output
    assert list(tmp_path.iterdir()) == []
