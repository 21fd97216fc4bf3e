"""Places and units named in the page's language: the filing form's lists (and the words its search box is built
from), the case page's handling unit, the rating page's unit and the open-data pages, from canned answers of
routing and intake. A name routing gives no English for stays Persian, marked as Persian."""

import re

import httpx
import pytest

from hub_shared.settings import HubSettings
from hub_web.app import create_app
from hub_web.places import localised, name_in
from hub_web.portal import Portal
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Unavailable, Upstream

from .test_open_data import REPORT

PLACES = {
    "agencies": [{"code": "labour", "name_fa": "وزارت تعاون، کار و رفاه اجتماعی", "name_en": "Ministry of Cooperatives, Labour and Social Welfare"},
                 {"code": "hajj", "name_fa": "سازمان حج و زیارت", "name_en": "Hajj and Pilgrimage Organisation"},
                 {"code": "ports", "name_fa": "سازمان بنادر", "name_en": None}],  # added at run time without an English name
    "provinces": [
        {"code": "tehran", "name_fa": "تهران", "name_en": "Tehran",
         "counties": [{"code": "tehran-city", "name_fa": "تهران", "name_en": "Tehran"}, {"code": "rey", "name_fa": "ری", "name_en": "Rey"}]},
        {"code": "fars", "name_fa": "فارس", "name_en": "Fars",
         "counties": [{"code": "marvdasht", "name_fa": "مرودشت", "name_en": "Marvdasht"}]},
    ],
}
POLICY = {"max_per_case": 5, "max_bytes": 4_000_000, "media_types": ["application/pdf"]}
MARVDASHT_UNIT = "labour/fars/marvdasht/performance-office"
UNITS = {MARVDASHT_UNIT: {"name_fa": "واحد رسیدگی به شکایات شهرستان مرودشت", "name_en": "Complaints Unit, Marvdasht County"},
         "ports/bushehr": {"name_fa": "اداره کل بنادر بوشهر", "name_en": None}}
TRACKED = {"tracking_code": "12345678901", "case_number": "1405-00000001", "kind": "complaint", "status": "referred",
           "status_fa": "ارجاع‌شده", "registered_at": "2026-12-06T10:00:00Z", "registered_at_jalali": "1405/09/15 13:30",
           "unit_name": "واحد رسیدگی به شکایات شهرستان مرودشت", "unit_id": MARVDASHT_UNIT, "deadline_at": None,
           "deadline_jalali": None, "answer": None, "history": []}


@pytest.fixture(autouse=True)
def upstream(monkeypatch) -> dict:
    """routing's and intake's canned answers; `routing_away` makes routing's unit names unavailable."""
    state = {"routing_away": False, "tracked": TRACKED}

    async def places(self):
        return PLACES

    async def attachment_policy(self):
        return POLICY

    async def unit_name(self, unit_id):
        if state["routing_away"]:
            raise Unavailable(unit_id)
        return UNITS.get(unit_id)

    async def post_intake(self, path, body, citizen_address):
        return Answer(200, state["tracked"])

    async def open_data(self, query, citizen_address):
        return Answer(200, REPORT)

    async def accepted(self, request, form):
        return None

    for name, fake in (("places", places), ("attachment_policy", attachment_policy), ("unit_name", unit_name),
                       ("post_intake", post_intake), ("open_data", open_data)):
        monkeypatch.setattr(Upstream, name, fake)
    monkeypatch.setattr(Portal, "forged", accepted)
    return state


async def ask(path: str, lang: str = "fa", form: dict | None = None) -> str:
    app = create_app(HubSettings(service_name="web"), WebSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal", cookies={"hub_lang": lang}) as client:
        response = await (client.post(path, data=form) if form is not None else client.get(path))
    assert response.status_code == 200, response.text
    return response.text


def options(html: str, select: str) -> list[tuple[str, str]]:
    body = re.search(rf'<select id="f-{select}".*?</select>', html, re.S)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)


def test_a_name_is_english_on_an_english_page_and_persian_where_there_is_none() -> None:
    assert name_in(UNITS[MARVDASHT_UNIT], "en") == ("Complaints Unit, Marvdasht County", "en")
    assert name_in(UNITS[MARVDASHT_UNIT], "fa") == ("واحد رسیدگی به شکایات شهرستان مرودشت", "fa")
    assert name_in(UNITS["ports/bushehr"], "en") == ("اداره کل بنادر بوشهر", "fa")
    english = localised(PLACES, "en")
    assert [(place.name, place.lang) for place in english["agencies"]] == [
        ("Hajj and Pilgrimage Organisation", "en"), ("Ministry of Cooperatives, Labour and Social Welfare", "en"), ("سازمان بنادر", "fa")]
    assert [place.code for place in english["provinces"]] == ["fars", "tehran"]  # by the English name
    assert [county.other for county in english["provinces"][1].counties] == ["ری", "تهران"]  # the search matches Persian too


async def test_the_filing_form_names_agencies_provinces_and_counties_in_the_pages_language() -> None:
    english = await ask("/file", lang="en")
    assert options(english, "agency") == [("", "Choose"), ("hajj", "Hajj and Pilgrimage Organisation"),
                                          ("labour", "Ministry of Cooperatives, Labour and Social Welfare"), ("ports", "سازمان بنادر")]
    assert '<option value="ports" lang="fa" data-other=""' in english
    assert options(english, "province") == [("", "Choose"), ("fars", "Fars"), ("tehran", "Tehran")]
    assert options(english, "county") == [("", "Province-wide"), ("marvdasht", "Marvdasht"), ("rey", "Rey"), ("tehran-city", "Tehran")]
    assert '<optgroup label="Fars" data-province="fars">' in english and 'data-other="مرودشت"' in english

    persian = await ask("/file")
    assert options(persian, "agency")[1:] == [("labour", "وزارت تعاون، کار و رفاه اجتماعی"), ("hajj", "سازمان حج و زیارت"),
                                              ("ports", "سازمان بنادر")]
    assert options(persian, "county")[1:] == [("tehran-city", "تهران"), ("rey", "ری"), ("marvdasht", "مرودشت")]
    assert 'data-other="Rey"' in persian and ' lang="' not in re.search(r'<select id="f-county".*?</select>', persian, re.S)[0]


async def test_the_search_boxes_words_come_in_the_pages_language_and_nothing_inline() -> None:
    english = await ask("/file", lang="en")
    assert 'data-filter="Search the counties"' in english and 'data-found="{n} found; chosen: {name}"' in english
    assert 'data-filter="جستجو در شهرستان‌ها"' in await ask("/file")
    assert "<script>" not in english and " style=" not in english and 'type="search"' not in english  # the box is portal.js's


async def test_the_case_page_names_the_handling_unit_in_english_on_the_english_page(upstream) -> None:
    form = {"tracking_code": "12345678901", "proof_kind": "national_id", "proof": "0084575948"}
    assert re.search(r'<dd id="unit">Complaints Unit, Marvdasht County</dd>', await ask("/follow", "en", form))
    assert re.search(r'<dd id="unit">واحد رسیدگی به شکایات شهرستان مرودشت</dd>', await ask("/follow", "fa", form))
    upstream["routing_away"] = True  # the Persian name intake keeps stands in
    assert '<dd id="unit" lang="fa">واحد رسیدگی به شکایات شهرستان مرودشت</dd>' in await ask("/follow", "en", form)
    upstream["tracked"] = {**TRACKED, "unit_name": None, "unit_id": None}
    assert '<dd id="unit">Not referred yet</dd>' in await ask("/follow", "en", form)


async def test_the_rating_page_names_the_unit_in_the_pages_language() -> None:
    assert '<p class="unit" id="unit-name">Complaints Unit, Marvdasht County</p>' in await ask(f"/r/{MARVDASHT_UNIT}", "en")
    assert '<p class="unit" id="unit-name">واحد رسیدگی به شکایات شهرستان مرودشت</p>' in await ask(f"/r/{MARVDASHT_UNIT}")
    assert '<p class="unit" id="unit-name" lang="fa">اداره کل بنادر بوشهر</p>' in await ask("/r/ports/bushehr", "en")


async def test_the_open_data_pages_name_agencies_and_provinces_in_the_pages_language() -> None:
    index = await ask("/open-data", "en")
    assert "<h2>Ministry of Cooperatives, Labour and Social Welfare</h2>" in index and '<h2 lang="fa">سازمان بنادر</h2>' in index
    assert '<a href="/open-data/labour/fars">Fars</a>' in index
    page = await ask("/open-data/labour/tehran", "en")
    assert "<h1><span>Ministry of Cooperatives, Labour and Social Welfare</span> — <span>Tehran</span></h1>" in page
    assert "<title>Open data: Ministry of Cooperatives, Labour and Social Welfare, Tehran" in page
    persian = await ask("/open-data/labour")
    assert "<h1><span>وزارت تعاون، کار و رفاه اجتماعی</span> — سراسر کشور</h1>" in persian
    assert '<a href="/open-data/labour/fars">فارس</a>' in persian
