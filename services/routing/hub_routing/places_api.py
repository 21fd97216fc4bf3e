"""Where a matter can be filed, for the public: the agencies of the tree in force, and Iran's provinces with
their counties, and a unit's name, each in Persian and in English. The citizen's portal builds its agency →
province → county choice and names the unit a visit is rated for from these; they need no token, since they hold
nothing but names that every office prints on its door."""

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hub_routing.org_api import UnitId
from hub_routing.tree import OrgTree
from hub_routing.units import UnitKind
from hub_shared.reference import org_seed


class Place(BaseModel):
    code: str
    name_fa: str = Field(description="the Persian name")
    name_en: str | None = Field(description=(
        "the English name; always given for provinces and counties, null for an agency whose unit in the tree has none "
        "(show the Persian name then)"))


class Province(Place):
    counties: list[Place]


class UnitName(BaseModel):
    id: str
    name_fa: str
    name_en: str | None = Field(description="the unit's English name; null when it has none (show the Persian name then)")


class Places(BaseModel):
    agencies: list[Place]
    provinces: list[Province]


def router(tree: OrgTree) -> APIRouter:
    api = APIRouter(prefix="/api/v1/org", tags=["organisation"])

    @api.get("/places", response_model=Places)
    async def list_places() -> Places:
        """Agencies (the tree's agency units, by code) and every province with its counties, by Persian name, each
        with its English name too."""
        return Places(agencies=_agencies(tree), provinces=_provinces())

    @api.get("/places/units/{unit_id:path}", response_model=UnitName, responses={404: {"description": "No unit has this id"}})
    async def unit_name(unit_id: UnitId) -> UnitName:
        """A unit's name in Persian and in English, as its printed rating link names it: nothing more about it."""
        unit = tree.unit(unit_id)
        if unit is None:
            raise HTTPException(404, detail={"code": "unknown_unit", "message_fa": "واحد مورد نظر در ساختار سازمانی یافت نشد.",
                                             "message_en": f"No unit {unit_id!r} in the organisation tree."})
        return UnitName(id=unit.id, name_fa=unit.name_fa, name_en=unit.name_en)

    return api


def _agencies(tree: OrgTree) -> list[Place]:
    units = tree.units(kind=UnitKind.agency.value)
    return sorted((Place(code=unit.agency, name_fa=unit.name_fa, name_en=unit.name_en) for unit in units if unit.agency),
                  key=lambda place: place.name_fa)


def _provinces() -> list[Province]:
    seed = org_seed()
    english = seed.names_en
    counties: dict[str, list[Place]] = {}
    for code, (province, name) in seed.counties.items():
        counties.setdefault(province, []).append(Place(code=code, name_fa=name, name_en=english.counties[code]))
    return sorted((Province(code=code, name_fa=name, name_en=english.provinces[code],
                            counties=sorted(counties.get(code, []), key=lambda place: place.name_fa))
                   for code, name in seed.provinces.items()), key=lambda place: place.name_fa)
