"""The public list of agencies, provinces and counties the citizen's portal offers."""

import httpx
import pytest

from hub_routing.app import create_runtime
from hub_shared.testing import sqlite_runtime


@pytest.fixture
async def client(tmp_path):
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing") as client:
        yield client
    await runtime.engine.dispose()


async def test_anyone_reads_the_agencies_and_every_province_with_its_counties(client) -> None:
    response = await client.get("/api/v1/org/places")
    assert response.status_code == 200, response.text
    places = response.json()
    assert {agency["code"] for agency in places["agencies"]} == {"labour", "health", "hajj", "interior"}
    assert len(places["provinces"]) == 31
    isfahan = next(province for province in places["provinces"] if province["code"] == "isfahan")
    assert isfahan["name_fa"] == "اصفهان"
    assert "کاشان" in [county["name_fa"] for county in isfahan["counties"]]
    tehran = next(province for province in places["provinces"] if province["code"] == "tehran")
    assert "kashan" not in [county["code"] for county in tehran["counties"]]


async def test_anyone_reads_a_units_name_and_an_unknown_unit_is_a_404(client) -> None:
    found = await client.get("/api/v1/org/places/units/labour/fars/marvdasht/performance-office")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == "labour/fars/marvdasht/performance-office" and "مرودشت" in found.json()["name_fa"]
    missing = await client.get("/api/v1/org/places/units/labour/fars/nowhere")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_unit"


async def test_every_place_is_named_in_english_too(client) -> None:
    places = (await client.get("/api/v1/org/places")).json()
    labour = next(agency for agency in places["agencies"] if agency["code"] == "labour")
    assert labour["name_en"] == "Ministry of Cooperatives, Labour and Social Welfare"
    assert all(agency["name_en"] for agency in places["agencies"])
    khorasan = next(province for province in places["provinces"] if province["code"] == "khorasan-razavi")
    assert (khorasan["name_fa"], khorasan["name_en"]) == ("خراسان رضوی", "Razavi Khorasan")
    torbat = next(county for county in khorasan["counties"] if county["code"] == "torbat-e-jam")
    assert (torbat["name_fa"], torbat["name_en"]) == ("تربت جام", "Torbat-e Jam")
    counties = [county for province in places["provinces"] for county in province["counties"]]
    assert [county["code"] for county in counties if not county["name_en"]] == []


async def test_a_units_name_comes_in_english_too(client) -> None:
    found = (await client.get("/api/v1/org/places/units/labour/fars/marvdasht/performance-office")).json()
    assert found["name_en"] == "Complaints Unit, Marvdasht County"
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "name_en" in schema["UnitName"]["required"] and "name_en" in schema["Place"]["properties"]
