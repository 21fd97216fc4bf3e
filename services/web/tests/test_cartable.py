"""The cartable: search by case number or tracking code, filters by kind, topic, channel, status and unit, the tabs
with their counts, and each case's deadline in Jalali working days with its risk in words beside the colour."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub_shared.auth import AuthSettings, Role, verify
from hub_shared.passwords import hash_password
from hub_shared.settings import HubSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.cartable import search_terms
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Upstream

PASSWORD = "a long enough secret"
TABS = {"all": 12, "overdue": 3, "in_progress": 7, "awaiting_information": 1, "responded": 2, "opinion_given": 0, "rework": 2}


def item(case_id: str, days: int, **fields) -> dict:
    deadline = (datetime.now(UTC) + timedelta(days=days)).isoformat()
    return {"case_id": case_id, "tracking_code": "12345678903", "case_number": "1405-00000042", "channel": "phone_111",
            "topic_id": "pension-insurance", "unit_id": "labour/tehran/rey", "unit_name": "اداره ری", "agency": "labour",
            "kind": "complaint", "confidential": False, "deadline_at": deadline, "stage": "in_progress", "reopenings": 0,
            "updated_at": deadline, **fields}


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []

    async def as_staff(self, client, path, token, route, params=None):
        assert verify(AuthSettings(), token).unit == "labour/tehran"
        seen.append((path, params))
        if path == "/api/v1/org/units":
            below = {"labour/tehran": ["labour/tehran/rey", "labour/tehran/performance-office"],
                     "labour/tehran/rey": ["labour/tehran/rey/performance-office"]}[params["parent"]]
            return Answer(200, {"items": [{"id": unit, "name_fa": f"واحد {unit.rsplit('/', 1)[1]}", "name_en": None} for unit in below]})
        return Answer(200, {"items": [item("6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a11", -3),
                                      item("6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a12", 2, channel="samad", kind="request"),
                                      item("6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a13", 60, topic_id=None)],
                            "total": 12, "overdue": 3, "tabs": TABS, "limit": 50, "offset": 0})

    monkeypatch.setattr(Upstream, "as_staff", as_staff)
    return seen


@pytest.fixture
async def client(tmp_path: Path, calls):
    users = UserRegistry(tmp_path / "users.json")
    users.add(User(subject="maryam", role=Role.expert, unit="labour/tehran", password_hash=hash_password(PASSWORD)))
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=users.path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as client:
        token = re.search(r'name="form_token" value="([^"]+)"', (await client.get("/staff/sign-in")).text)[1]
        await client.post("/staff/sign-in", data={"form_token": token, "username": "maryam", "password": PASSWORD})
        yield client


def inbox_call(calls) -> dict:
    return [params for path, params in calls if path == "/api/v1/inbox"][-1]


@pytest.mark.parametrize("typed,terms", [
    ("۱۲۳۴۵۶۷۸۹۰۳", {"tracking_code": "12345678903"}), ("1234 5678 903", {"tracking_code": "12345678903"}),
    ("۱۴۰۵-۰۰۰۰۰۰۴۲", {"case_number": "1405-00000042"}), ("1405-42", {"case_number": "1405-00000042"}),
    ("140500000042", {"case_number": "1405-00000042"}), ("", {}), ("12345", None), ("1405-123456789", None), ("abc", None),
])
def test_the_search_box_takes_a_tracking_code_or_a_case_number_in_any_digits(typed, terms) -> None:
    assert search_terms(typed) == terms


async def test_the_filters_reach_the_inbox_and_stay_chosen_on_the_page(client, calls) -> None:
    page = await client.get("/staff", params={"code": "۱۴۰۵-۴۲", "kind": "complaint", "topic": "pension-insurance", "channel": "samad",
                                              "stage": "responded", "unit": "labour/tehran/rey"})
    assert page.status_code == 200, page.text
    assert inbox_call(calls) == {"case_number": "1405-00000042", "kind": "complaint", "topic": "pension-insurance", "channel": "samad",
                                 "stage": "responded", "unit": "labour/tehran/rey", "limit": "50", "offset": "0"}
    for name, value in (("topic", "pension-insurance"), ("channel", "samad"), ("stage", "responded"), ("unit", "labour/tehran/rey")):
        assert re.search(rf'<select id="f-{name}" name="{name}">.*?<option value="{value}" selected>', page.text, re.S), name
    assert '<option value="labour/tehran/rey/performance-office">' in page.text, "the chosen unit's own units, a level down"
    assert "مستمری و بیمه بازنشستگی" in page.text and "سامانه ۱۱۱" in page.text and "۱۴۰۵-۰۰۰۰۰۰۴۲" in page.text


async def test_unknown_filter_values_are_dropped_and_a_bad_search_says_how_to_write_it(client, calls) -> None:
    page = await client.get("/staff", params={"code": "12345", "topic": "no-such-topic", "channel": "fax", "unit": "../etc", "overdue": "x"})
    assert page.status_code == 200
    assert inbox_call(calls) == {"limit": "50", "offset": "0"}
    assert "شماره پرونده مانند ۱۴۰۵-۰۰۰۰۰۰۴۲" in page.text and 'aria-invalid="true"' in page.text


async def test_each_tab_shows_its_count_and_keeps_the_other_filters(client, calls) -> None:
    page = await client.get("/staff", params={"kind": "complaint", "stage": "rework"})
    tabs = dict(re.findall(r'<a href="([^"]+)" id="tab-([a-z_]+)"', page.text))
    assert set(tabs.values()) == set(TABS)
    links = {key: href.replace("&amp;", "&") for href, key in tabs.items()}
    assert links["all"] == "/staff?kind=complaint" and links["overdue"] == "/staff?kind=complaint&overdue=1"
    assert links["responded"] == "/staff?kind=complaint&stage=responded"
    assert re.search(r'id="tab-rework" aria-current="page">بازگشت برای اصلاح <span class="count">\(۲\)</span>', page.text)
    assert re.search(r'id="tab-all">همه <span class="count">\(۱۲\)</span>', page.text)
    assert re.search(r'id="tab-overdue">گذشته از مهلت <span class="count">\(۳\)</span>', page.text)
    await client.get(links["overdue"])
    assert inbox_call(calls) == {"kind": "complaint", "overdue": "true", "limit": "50", "offset": "0"}


async def test_each_case_tells_its_risk_in_words_beside_the_colour_and_its_working_days_left(client) -> None:
    page = (await client.get("/staff")).text
    rows = re.findall(r"<tr class=\"(risk-[a-z_]+)[^\"]*\">(.*?)</tr>", page, re.S)
    assert [row[0] for row in rows] == ["risk-overdue", "risk-due_soon", "risk-on_track"]
    assert "گذشته از مهلت" in rows[0][1] and "مهلت گذشته است" in rows[0][1]
    assert "نزدیک به مهلت" in rows[1][1] and "روز کاری مانده" in rows[1][1]
    assert "در مهلت" in rows[2][1] and re.search(r"[۰-۹]+ روز کاری مانده", rows[2][1])
    assert re.search(r"[۰-۹]{1,2} (فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}", rows[2][1])
