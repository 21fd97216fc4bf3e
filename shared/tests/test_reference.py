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
    "agency slug": (lambda raw: raw["agencies"].update({"Labour": "کار"}), r"agency 'Labour'.*not a slug"),
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
