"""Places and units named in the page's language. Routing gives every agency, province, county and unit a Persian
name and, where it has one, an English name (`name_en`); a page in English shows the English name and falls back
to the Persian one, marked `lang="fa"` so that a screen reader reads it as Persian."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Named:
    code: str
    name: str  # in the page's language, or Persian where there is no English name
    lang: str  # the language `name` is in
    other: str  # the name in the other language (the filter on the filing page matches both)
    counties: list["Named"] = field(default_factory=list)


def name_in(place: dict | None, lang: str) -> tuple[str, str]:
    """(the name to show, its language) of routing's `place` (an agency, province, county or unit)."""
    if place is None:
        return "", lang
    if lang == "en" and place.get("name_en"):
        return place["name_en"], "en"
    return place["name_fa"], "fa"


def named(place: dict, lang: str) -> Named:
    name, shown = name_in(place, lang)
    other = (place.get("name_en") or "") if shown == "fa" else place["name_fa"]
    return Named(code=place.get("code") or place.get("id", ""), name=name, lang=shown, other=other,
                 counties=_sorted([named(county, lang) for county in place.get("counties", ())], lang))


def localised(places: dict, lang: str) -> dict[str, list[Named]]:
    """routing's `GET /api/v1/org/places` with each name in `lang`, in the order of the names shown (routing's
    Persian order on a Persian page)."""
    return {"agencies": _sorted([named(agency, lang) for agency in places["agencies"]], lang),
            "provinces": _sorted([named(province, lang) for province in places["provinces"]], lang)}


def find(places: list[Named], code: str | None) -> Named | None:
    return next((place for place in places if place.code == code), None)


def _sorted(places: list[Named], lang: str) -> list[Named]:
    return places if lang == "fa" else sorted(places, key=lambda place: place.name.casefold())
