"""Where a matter can be filed, for the public: the agencies of the tree in force, and Iran's provinces with
their counties, and a unit's name. The citizen's portal builds its agency → province → county choice and names
the unit a visit is rated for from these; they need no token, since they hold nothing but names that every
office prints on its door."""

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from hub_routing.org_api import UnitId
from hub_routing.tree import OrgTree
from hub_routing.units import UnitKind
from hub_shared.reference import org_seed


class Place(BaseModel):
    code: str
    name_fa: str


class Province(Place):
    counties: list[Place]


class UnitName(BaseModel):
    id: str
    name_fa: str


class Places(BaseModel):
    agencies: list[Place]
    provinces: list[Province]


def router(tree: OrgTree) -> APIRouter:
    api = APIRouter(prefix="/api/v1/org", tags=["organisation"])

    @api.get("/places", response_model=Places)
    async def list_places() -> Places:
        """Agencies (the tree's agency units, by code) and every province with its counties, by Persian name."""
        return Places(agencies=_agencies(tree), provinces=_provinces())

    @api.get("/places/units/{unit_id:path}", response_model=UnitName, responses={404: {"description": "No unit has this id"}})
    async def unit_name(unit_id: UnitId) -> UnitName:
        """A unit's name, as its printed rating link names it: nothing more about it."""
        unit = tree.unit(unit_id)
        if unit is None:
            raise HTTPException(404, detail={"code": "unknown_unit", "message_fa": "واحد مورد نظر در ساختار سازمانی یافت نشد.",
                                             "message_en": f"No unit {unit_id!r} in the organisation tree."})
        return UnitName(id=unit.id, name_fa=unit.name_fa)

    return api


def _agencies(tree: OrgTree) -> list[Place]:
    units = tree.units(kind=UnitKind.agency.value)
    return sorted((Place(code=unit.agency, name_fa=unit.name_fa) for unit in units if unit.agency), key=lambda place: place.name_fa)


def _provinces() -> list[Province]:
    seed = org_seed()
    counties: dict[str, list[Place]] = {}
    for code, (province, name) in seed.counties.items():
        counties.setdefault(province, []).append(Place(code=code, name_fa=name))
    return sorted((Province(code=code, name_fa=name, counties=sorted(counties.get(code, []), key=lambda place: place.name_fa))
                   for code, name in seed.provinces.items()), key=lambda place: place.name_fa)
