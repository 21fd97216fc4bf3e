"""Reference data shipped with the contract: Iran's provinces and counties, and the seeded organisation tree.

`geography.json` holds the 31 provinces (استان) and their counties (شهرستان), each with a stable ASCII slug, its
Persian name and its English name; `org_seed.json` holds the agencies (Persian and English names) and the seeded units
(a Persian name, and an English one where given), which name their province and county by those slugs. Both files are checked when loaded, so a broken file stops the service at start-up with the bad entry named.
Intake checks that a named agency and province exist; routing builds its tree from the same data.
Run-time changes to the tree travel on `hub.org.v1` (a later step).
"""

import json
import re
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

GEOGRAPHY = Path(__file__).parent / "geography.json"
ORG_SEED = Path(__file__).parent / "org_seed.json"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ReferenceDataError(ValueError):
    """A reference file does not hold what the hub needs; the message names the file and the entry."""


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name_fa: str
    kind: str
    parent_id: str | None
    name_en: str | None = None
    agency: str | None = None
    province: str | None = None
    county: str | None = None


@dataclass(frozen=True)
class OrgSeed:
    agencies: dict[str, str]
    provinces: dict[str, str]
    counties: dict[str, tuple[str, str]]  # county code -> (province code, Persian name)
    units: tuple[OrgUnit, ...]
    names_en: "EnglishNames"


@dataclass(frozen=True)
class EnglishNames:
    """The English name of every agency, province and county, by slug."""

    agencies: dict[str, str]
    provinces: dict[str, str]
    counties: dict[str, str]


@cache
def org_seed() -> OrgSeed:
    return load_org_seed()


def load_org_seed(geography_path: Path = GEOGRAPHY, org_seed_path: Path = ORG_SEED) -> OrgSeed:
    """Provinces and counties from `geography_path`, agencies and units from `org_seed_path`, all checked."""
    provinces, counties = load_geography(geography_path)
    provinces_en, counties_en = english_geography(geography_path)
    raw = _read(org_seed_path)
    source = org_seed_path.name
    entries = raw.get("agencies")
    if not isinstance(entries, dict) or not entries:
        raise ReferenceDataError(f"{source}: 'agencies' must be a non-empty object of slug -> {{name_fa, name_en}}")
    agencies: dict[str, str] = {}
    agencies_en: dict[str, str] = {}
    for slug, names in entries.items():
        where = f"agency {slug!r}"
        _check_slug(source, where, slug)
        if not isinstance(names, dict) or set(names) != {"name_fa", "name_en"}:
            raise ReferenceDataError(f"{source}: {where} must be an object with 'name_fa' and 'name_en' (nothing else)")
        _check_name(source, where, names["name_fa"])
        _check_name(source, where, names["name_en"], "an English")
        agencies[slug], agencies_en[slug] = names["name_fa"], names["name_en"]
    units = _units(source, raw.get("units"), agencies, provinces, counties)
    return OrgSeed(agencies=agencies, provinces=provinces, counties=counties, units=units,
                   names_en=EnglishNames(agencies=agencies_en, provinces=provinces_en, counties=counties_en))


def load_geography(path: Path = GEOGRAPHY) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(province slug -> Persian name, county slug -> (province slug, Persian name)) from `path`, checked."""
    raw = _read(path)
    source = path.name
    for key in ("as_of", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ReferenceDataError(f"{source}: {key!r} must say which official division the file follows")
    entries = raw.get("provinces")
    if not isinstance(entries, list) or not entries:
        raise ReferenceDataError(f"{source}: 'provinces' must be a non-empty list")
    provinces: dict[str, str] = {}
    counties: dict[str, tuple[str, str]] = {}
    for number, province in enumerate(entries, start=1):
        where = _entry(f"province #{number}", province)
        if not isinstance(province, dict):
            raise ReferenceDataError(f"{source}: {where} must be an object with 'id', 'name_fa', 'name_en' and 'counties'")
        slug = province.get("id")
        _check_slug(source, where, slug)
        _check_name(source, where, province.get("name_fa"))
        _check_name(source, where, province.get("name_en"), "an English")
        if slug in provinces:
            raise ReferenceDataError(f"{source}: {where} appears twice")
        provinces[slug] = province["name_fa"]
        members = province.get("counties")
        if not isinstance(members, list) or not members:
            raise ReferenceDataError(f"{source}: {where} must list its counties")
        for index, county in enumerate(members, start=1):
            at = f"{_entry(f'county #{index}', county)} of province {slug!r}"
            if not isinstance(county, dict):
                raise ReferenceDataError(f"{source}: {at} must be an object with 'id', 'name_fa' and 'name_en'")
            code = county.get("id")
            _check_slug(source, at, code)
            _check_name(source, at, county.get("name_fa"))
            _check_name(source, at, county.get("name_en"), "an English")
            if code in counties:
                raise ReferenceDataError(f"{source}: {at} repeats a slug already used in province {counties[code][0]!r}")
            counties[code] = (slug, county["name_fa"])
    for code, (slug, _) in counties.items():
        if code in provinces:  # as `tehran-city` in province `tehran`: a county never takes a province's slug
            raise ReferenceDataError(f"{source}: county {code!r} of province {slug!r} has the slug of a province; "
                                     f"suffix it (e.g. {code + '-city'!r})")
    return provinces, counties


def english_geography(path: Path = GEOGRAPHY) -> tuple[dict[str, str], dict[str, str]]:
    """(province slug -> English name, county slug -> English name) from `path`; `load_geography` checks the file."""
    raw = _read(path)
    provinces = {province["id"]: province["name_en"] for province in raw["provinces"]}
    counties = {county["id"]: county["name_en"] for province in raw["provinces"] for county in province["counties"]}
    return provinces, counties


def _units(source: str, entries: Any, agencies: dict[str, str], provinces: dict[str, str],
           counties: dict[str, tuple[str, str]]) -> tuple[OrgUnit, ...]:
    if not isinstance(entries, list) or not entries:
        raise ReferenceDataError(f"{source}: 'units' must be a non-empty list")
    allowed = {field.name for field in fields(OrgUnit)}
    units: list[OrgUnit] = []
    for number, entry in enumerate(entries, start=1):
        where = _entry(f"unit #{number}", entry)
        if not isinstance(entry, dict) or set(entry) - allowed or not {"id", "name_fa", "kind", "parent_id"} <= set(entry):
            raise ReferenceDataError(f"{source}: {where} must be an object with id, name_fa, kind, parent_id "
                                     f"and optionally name_en, agency, province, county (nothing else)")
        if entry.get("name_en") is not None:
            _check_name(source, where, entry["name_en"], "an English")
        units.append(OrgUnit(**entry))
    ids: set[str] = set()
    for unit in units:
        if unit.id in ids:
            raise ReferenceDataError(f"{source}: unit {unit.id!r} appears twice")
        ids.add(unit.id)
    for unit in units:
        where = f"unit {unit.id!r}"
        if unit.parent_id is not None and unit.parent_id not in ids:
            raise ReferenceDataError(f"{source}: {where} names parent {unit.parent_id!r}, which is not a unit")
        if unit.agency is not None and unit.agency not in agencies:
            raise ReferenceDataError(f"{source}: {where} names agency {unit.agency!r}, which is not in 'agencies'")
        if unit.province is not None and unit.province not in provinces:
            raise ReferenceDataError(f"{source}: {where} names province {unit.province!r}, which is not in geography.json")
        if unit.county is not None:
            if unit.county not in counties:
                raise ReferenceDataError(f"{source}: {where} names county {unit.county!r}, which is not in geography.json")
            if counties[unit.county][0] != unit.province:
                raise ReferenceDataError(f"{source}: {where} names county {unit.county!r}, which is in province "
                                         f"{counties[unit.county][0]!r}, not {unit.province!r}")
    return tuple(units)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as broken:
        raise ReferenceDataError(f"{path.name}: cannot be read as JSON: {broken}") from None
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"{path.name}: must hold a JSON object")
    return raw


def _entry(position: str, entry: Any) -> str:
    slug = entry.get("id") if isinstance(entry, dict) else None
    return f"{position} ({slug!r})" if isinstance(slug, str) else position


def _check_slug(source: str, where: str, slug: Any) -> None:
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise ReferenceDataError(f"{source}: {where}: id {slug!r} is not a slug (lower-case ASCII words joined by '-')")


def _check_name(source: str, where: str, name: Any, language: str = "a Persian") -> None:
    if not isinstance(name, str) or not name.strip():
        raise ReferenceDataError(f"{source}: {where} needs {language} name")


# Case topics and the routing keyword vocabulary (topics.yaml): intake's classifier suggests a topic and
# finds keywords, staff confirm the topic, routing's rules match on both. Only the ids travel on the bus.

TOPICS = Path(__file__).parent / "topics.yaml"
_TOPIC_SLUG = r"[a-z0-9]+(-[a-z0-9]+)*"


@dataclass(frozen=True)
class Topic:
    id: str
    label_fa: str
    label_en: str
    sector: str


@dataclass(frozen=True)
class RoutingKeyword:
    id: str
    terms: tuple[str, ...]  # Persian words or phrases; the first one is the keyword's label


@cache
def topics() -> tuple[Topic, ...]:
    """The closed list of case topics, in file order."""
    entries = tuple(Topic(**entry) for entry in _topics_file()["topics"])
    _check_topic_ids([topic.id for topic in entries], "topic")
    return entries


@cache
def routing_keywords() -> tuple[RoutingKeyword, ...]:
    """The closed vocabulary routing rules may match on, in file order. A term belongs to one keyword only."""
    from hub_shared.text import normalize_text

    keywords = tuple(RoutingKeyword(id=entry["id"], terms=tuple(entry["terms"])) for entry in _topics_file()["routing_keywords"])
    _check_topic_ids([keyword.id for keyword in keywords], "routing keyword")
    owners: dict[str, str] = {}
    for keyword in keywords:
        if not keyword.terms or not all(isinstance(term, str) and term.strip() for term in keyword.terms):
            raise ValueError(f"topics.yaml: routing keyword {keyword.id} needs non-empty terms")
        for term in map(normalize_text, keyword.terms):
            if owners.setdefault(term, keyword.id) != keyword.id:
                raise ValueError(f"topics.yaml: the term {term!r} belongs to both {owners[term]} and {keyword.id}")
    return keywords


def _topics_file() -> dict:
    import yaml  # imported here: only these two readers need it

    return yaml.safe_load(TOPICS.read_text(encoding="utf-8"))


def _check_topic_ids(ids: list[str], what: str) -> None:
    import re

    for position, id_ in enumerate(ids):
        if not isinstance(id_, str) or len(id_) > 64 or not re.fullmatch(_TOPIC_SLUG, id_):
            raise ValueError(f"topics.yaml: {what} id {id_!r} is not a slug (lower-case ASCII words joined by '-')")
        if id_ in ids[:position]:
            raise ValueError(f"topics.yaml: {what} id {id_} is listed twice")
