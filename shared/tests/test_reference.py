import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from hub_shared.reference import GEOGRAPHY, ORG_SEED, SLUG, ReferenceDataError, load_geography, load_org_seed, org_seed

PERSIAN_LETTERS = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیئ"
PERSIAN_NAME = re.compile(f"[{PERSIAN_LETTERS}]+(?:[ \u200c][{PERSIAN_LETTERS}]+)*")
ENGLISH_NAME = re.compile(r"[A-Z][a-z]+(?:-(?:e|ye|[A-Z][a-z]+))?(?:(?: and | )[A-Z][a-z]+(?:-(?:e|ye|[A-Z][a-z]+))?)*")
GEOGRAPHY_RAW: dict[str, Any] = json.loads(GEOGRAPHY.read_text(encoding="utf-8"))
ORG_SEED_RAW: dict[str, Any] = json.loads(ORG_SEED.read_text(encoding="utf-8"))


def test_all_thirty_one_provinces_ship() -> None:
    assert len(org_seed().provinces) == 31


def test_the_counties_number_about_450() -> None:
    assert 400 <= len(org_seed().counties) <= 500


def test_the_file_says_which_official_division_it_follows() -> None:
    assert re.search(r"\d{4}", GEOGRAPHY_RAW["as_of"]) and GEOGRAPHY_RAW["source"].strip()


@pytest.mark.parametrize(("county", "province"), [
    ("tehran-city", "tehran"), ("shemiranat", "tehran"), ("rey", "tehran"),
    ("isfahan-city", "isfahan"), ("kashan", "isfahan"),
    ("shiraz", "fars"), ("marvdasht", "fars"),
    ("mashhad", "khorasan-razavi"), ("neyshabur", "khorasan-razavi"),
])
def test_the_slugs_tests_and_units_use_are_kept(county: str, province: str) -> None:
    assert province in org_seed().provinces
    assert org_seed().counties[county][0] == province


def test_every_county_belongs_to_exactly_one_province() -> None:
    listed = Counter(county["id"] for province in GEOGRAPHY_RAW["provinces"] for county in province["counties"])
    assert [slug for slug, times in listed.items() if times > 1] == []
    assert all(province["counties"] for province in GEOGRAPHY_RAW["provinces"])
    seed = org_seed()
    assert set(listed) == set(seed.counties)
    assert {province for province, _ in seed.counties.values()} == set(seed.provinces)


def test_slugs_are_lower_case_ascii_and_no_county_takes_a_province_slug() -> None:
    seed = org_seed()
    assert [slug for slug in [*seed.provinces, *seed.counties] if not SLUG.fullmatch(slug)] == []
    assert set(seed.provinces) & set(seed.counties) == set()


def test_persian_names_use_normalised_persian_letters_only() -> None:
    seed = org_seed()
    names = [*seed.provinces.values(), *(name for _, name in seed.counties.values())]
    assert [name for name in names if not PERSIAN_NAME.fullmatch(name)] == []
    assert [name for name in names if "ي" in name or "ك" in name] == []


def test_every_agency_province_and_county_has_an_english_name_in_one_romanisation() -> None:
    seed = org_seed()
    assert set(seed.names_en.agencies) == set(seed.agencies)
    assert set(seed.names_en.provinces) == set(seed.provinces)
    assert set(seed.names_en.counties) == set(seed.counties)
    places = [*seed.names_en.provinces.values(), *seed.names_en.counties.values()]
    assert [name for name in places if not ENGLISH_NAME.fullmatch(name)] == []
    assert [name for name in seed.names_en.agencies.values() if not name.isascii() or not name.strip()] == []


@pytest.mark.parametrize(("slug", "english"), [
    ("tehran", "Tehran"), ("khorasan-razavi", "Razavi Khorasan"), ("sistan-baluchestan", "Sistan and Baluchestan"),
    ("kohgiluyeh-boyer-ahmad", "Kohgiluyeh and Boyer-Ahmad"), ("chaharmahal-bakhtiari", "Chaharmahal and Bakhtiari"),
])
def test_provinces_carry_their_standard_english_names(slug: str, english: str) -> None:
    assert org_seed().names_en.provinces[slug] == english


@pytest.mark.parametrize(("slug", "english"), [
    ("tehran-city", "Tehran"), ("rey", "Rey"), ("marvdasht", "Marvdasht"), ("torbat-e-jam", "Torbat-e Jam"),
    ("aran-va-bidgol", "Aran and Bidgol"), ("astaneh-ye-ashrafiyeh", "Astaneh-ye Ashrafiyeh"), ("bandar-abbas", "Bandar Abbas"),
])
def test_counties_carry_their_english_names(slug: str, english: str) -> None:
    assert org_seed().names_en.counties[slug] == english


def test_every_seeded_unit_has_an_english_name() -> None:
    seed = org_seed()
    assert [unit.id for unit in seed.units if not unit.name_en or not unit.name_en.isascii()] == []
    agency_units = {unit.agency: unit.name_en for unit in seed.units if unit.kind == "agency"}
    assert agency_units == seed.names_en.agencies


def test_seeded_units_sit_in_known_places() -> None:
    seed = org_seed()
    for unit in seed.units:
        assert unit.province is None or unit.province in seed.provinces
        assert unit.county is None or seed.counties[unit.county][0] == unit.province


def test_org_seed_is_loaded_once_from_the_shipped_files() -> None:
    assert org_seed() is org_seed()
    assert load_org_seed() == org_seed()


def _county(raw: dict[str, Any], province: str, county: str) -> dict[str, Any]:
    entries = next(p for p in raw["provinces"] if p["id"] == province)["counties"]
    return next(c for c in entries if c["id"] == county)


def _rename(province: str, county: str, slug: str) -> Callable[[dict[str, Any]], None]:
    return lambda raw: _county(raw, province, county).update(id=slug)


BROKEN_GEOGRAPHY = {
    "county slug repeated in another province": (
        _rename("fars", "marvdasht", "kashan"),
        r"county #\d+ \('kashan'\) of province 'fars'.*'isfahan'"),
    "county slug repeated in its own province": (
        _rename("tehran", "rey", "shemiranat"),
        r"'shemiranat'\) of province 'tehran'.*'tehran'"),
    "upper-case slug": (
        _rename("isfahan", "kashan", "Kashan"),
        r"county #\d+ \('Kashan'\) of province 'isfahan'.*not a slug"),
    "Persian slug": (_rename("fars", "shiraz", "شیراز"), r"'شیراز'.* of province 'fars'.*not a slug"),
    "county named like a province": (
        _rename("qom", "qom-city", "qom"),
        r"county 'qom' of province 'qom' has the slug of a province"),
    "province slug repeated": (
        lambda raw: raw["provinces"][1].update(id=raw["provinces"][0]["id"]),
        r"province #2 \('east-azerbaijan'\) appears twice"),
    "province without counties": (
        lambda raw: raw["provinces"][3].update(counties=[]),
        r"province #4 \('isfahan'\) must list its counties"),
    "county without a name": (
        lambda raw: _county(raw, "fars", "shiraz").pop("name_fa"),
        r"'shiraz'\) of province 'fars' needs a Persian name"),
    "county without an English name": (
        lambda raw: _county(raw, "fars", "shiraz").pop("name_en"),
        r"'shiraz'\) of province 'fars' needs an English name"),
    "province without an English name": (
        lambda raw: raw["provinces"][0].update(name_en=" "),
        r"province #1 \('east-azerbaijan'\) needs an English name"),
    "no as_of": (lambda raw: raw.pop("as_of"), r"'as_of'"),
}


@pytest.mark.parametrize("case", BROKEN_GEOGRAPHY, ids=list(BROKEN_GEOGRAPHY))
def test_a_broken_geography_file_fails_naming_the_entry(tmp_path: Path, case: str) -> None:
    breaks, message = BROKEN_GEOGRAPHY[case]
    raw = copy.deepcopy(GEOGRAPHY_RAW)
    breaks(raw)
    broken = tmp_path / "geography.json"
    broken.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message) as failure:
        load_geography(broken)
    assert str(failure.value).startswith("geography.json: ")
    with pytest.raises(ReferenceDataError, match=message):
        load_org_seed(geography_path=broken)


def _unit(unit_id: str, **change: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: next(u for u in raw["units"] if u["id"] == unit_id).update(change)


BROKEN_ORG_SEED = {
    "unknown county": (
        _unit("labour/fars/shiraz", county="atlantis"),
        r"unit 'labour/fars/shiraz' names county 'atlantis'"),
    "county of another province": (
        _unit("labour/fars/shiraz", county="kashan"),
        r"unit 'labour/fars/shiraz' names county 'kashan'.*'isfahan', not 'fars'"),
    "unknown province": (
        _unit("labour/tehran", province="atlantis"),
        r"unit 'labour/tehran' names province 'atlantis'"),
    "unknown agency": (_unit("labour/tehran", agency="navy"), r"unit 'labour/tehran' names agency 'navy'"),
    "unknown parent": (
        _unit("labour/tehran", parent_id="labour/nowhere"),
        r"unit 'labour/tehran' names parent 'labour/nowhere'"),
    "unit with an unknown field": (
        lambda raw: raw["units"][3].update(region="tehran"),
        r"unit #4 \('labour/tehran'\) must be an object"),
    "agency slug": (lambda raw: raw["agencies"].update({"Labour": {"name_fa": "کار", "name_en": "Labour"}}),
                    r"agency 'Labour'.*not a slug"),
    "agency with its Persian name only": (
        lambda raw: raw["agencies"].update({"labour": "وزارت تعاون، کار و رفاه اجتماعی"}),
        r"agency 'labour' must be an object with 'name_fa' and 'name_en'"),
    "agency without an English name": (
        lambda raw: raw["agencies"]["hajj"].update(name_en=""), r"agency 'hajj' needs an English name"),
    "unit with an empty English name": (
        _unit("labour/tehran", name_en=""), r"unit #\d+ \('labour/tehran'\) needs an English name"),
}


@pytest.mark.parametrize("case", BROKEN_ORG_SEED, ids=list(BROKEN_ORG_SEED))
def test_a_broken_org_seed_fails_naming_the_entry(tmp_path: Path, case: str) -> None:
    breaks, message = BROKEN_ORG_SEED[case]
    raw = copy.deepcopy(ORG_SEED_RAW)
    breaks(raw)
    broken = tmp_path / "org_seed.json"
    broken.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message) as failure:
        load_org_seed(org_seed_path=broken)
    assert str(failure.value).startswith("org_seed.json: ")


def test_a_file_that_is_not_json_fails_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "geography.json"
    broken.write_text('{"provinces": [', encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"^geography\.json: cannot be read as JSON"):
        load_org_seed(geography_path=broken)
