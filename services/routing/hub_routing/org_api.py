"""The organisation tree over HTTP: anyone who works on cases reads it; national and provincial supervisors
and agency systems change it within their own subtree.

A change is checked against the tree in force and, when it holds, published on `hub.org.v1` through the
outbox (202 Accepted). Routing's consumer applies it exactly like a change a province's own system
publishes, so every replica converges on one tree; GET shows it once applied, normally within a second.
A new unit's parent must be in the tree before the unit is sent.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub_routing.tree import OrgTree
from hub_routing.units import InvalidChange, OrgUnit, check_removal, resolve
from hub_shared.auth import AUTH_RESPONSES, AuthSettings, Forbidden, Principal, Scope, principal_of, requires
from hub_shared.events import Event, OrgUnitRemoved, OrgUnitUpserted, UnitContact, UnitFields
from hub_shared.events.org import CODE, UNIT_ID
from hub_shared.reference import org_seed
from hub_shared.service import Runtime, problem

UnitId = Annotated[str, Path(max_length=200, pattern=UNIT_ID, description="the unit's path, e.g. labour/isfahan/kashan/security-office")]
Code = Annotated[str | None, Query(max_length=64, pattern=CODE)]
READERS = frozenset({Scope.cases_read, Scope.org_write})
NOT_FOUND: dict[int | str, dict] = {404: {"description": "No unit has this id"}}
HAS_CHILDREN: dict[int | str, dict] = {409: {"description": "The unit has sub-units (or is the root); the body says which"}}
REFUSED: dict[int | str, dict] = {422: {"description": "The change would break the tree (unknown parent, kind, calendar, "
                                                      "province or county, id outside the parent's path, a cycle); the body says which"}}


class UnitView(BaseModel):
    id: str
    parent_id: str | None
    name_fa: str
    name_en: str | None = Field(description="the unit's English name; null when it has none")
    kind: str
    agency: str | None
    province: str | None
    county: str | None
    calendar: str
    contact: UnitContact
    children: list[str]


class UnitChange(UnitFields):
    """The whole unit: PUT creates it or replaces every field of it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "parent_id": "labour/isfahan/kashan", "name_fa": "حراست اداره تعاون، کار و رفاه اجتماعی کاشان",
        "name_en": "Security Office, Kashan County Office of Cooperatives, Labour and Social Welfare", "kind": "security_office",
        "calendar": "iran-standard", "contact": {"phone": "031-55550000"}}]})


class ChangeAccepted(BaseModel):
    unit_id: str
    unit: UnitView | None = None
    message_fa: str
    message_en: str


def router(runtime: Runtime, tree: OrgTree) -> APIRouter:
    api = APIRouter(prefix="/api/v1/org", tags=["organisation"])
    may_read = _reader(runtime.auth)
    may_write = requires(runtime.auth, Scope.org_write)

    @api.get("/units", response_model=list[UnitView], responses=AUTH_RESPONSES)
    async def list_units(_: Annotated[Principal, Depends(may_read)],
                         parent: Annotated[str | None, Query(max_length=200, pattern=UNIT_ID)] = None,
                         agency: Code = None, province: Code = None,
                         kind: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None) -> list[UnitView]:
        """The units in force that match every filter given (`parent`: the units directly below it)."""
        return [_view(tree, unit) for unit in tree.units(parent, agency, province, kind)]

    @api.get("/units/{unit_id:path}", response_model=UnitView, responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def get_unit(unit_id: UnitId, _: Annotated[Principal, Depends(may_read)]) -> UnitView:
        return _view(tree, _existing(tree, unit_id))

    @api.put("/units/{unit_id:path}", status_code=202, response_model=ChangeAccepted,
             responses={**AUTH_RESPONSES, **REFUSED})
    async def put_unit(unit_id: UnitId, body: UnitChange,
                       principal: Annotated[Principal, Depends(may_write)]) -> ChangeAccepted | JSONResponse:
        _check_covers(principal, unit_id)
        change = OrgUnitUpserted(unit_id=unit_id, **body.model_dump(), changed_by=principal.subject,
                                 changed_at=datetime.now(UTC))
        try:
            unit = resolve(tree, change, org_seed())
        except InvalidChange as refusal:
            return _refusal(422, unit_id, refusal)
        await _publish(runtime, change)
        return ChangeAccepted(unit_id=unit_id, unit=_view(tree, unit),
                              message_fa="تغییر پذیرفته شد و به‌زودی در درخت سازمانی اعمال می‌شود.",
                              message_en="The change is accepted and will be applied to the tree shortly.")

    @api.delete("/units/{unit_id:path}", status_code=202, response_model=ChangeAccepted,
                responses={**AUTH_RESPONSES, **NOT_FOUND, **HAS_CHILDREN})
    async def delete_unit(unit_id: UnitId, principal: Annotated[Principal, Depends(may_write)]) -> ChangeAccepted | JSONResponse:
        _check_covers(principal, unit_id)
        _existing(tree, unit_id)
        try:
            check_removal(tree, unit_id)
        except InvalidChange as refusal:
            return _refusal(409, unit_id, refusal)
        await _publish(runtime, OrgUnitRemoved(unit_id=unit_id, changed_by=principal.subject, changed_at=datetime.now(UTC)))
        return ChangeAccepted(unit_id=unit_id, message_fa="حذف واحد پذیرفته شد و به‌زودی اعمال می‌شود.",
                              message_en="The removal is accepted and will be applied to the tree shortly.")

    return api


def _reader(auth: AuthSettings):
    """A FastAPI dependency: 401 without a valid token, 403 unless it grants cases:read or org:write."""
    authenticated = principal_of(auth)

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not principal.scopes & READERS:
            raise Forbidden(f"This token ({principal.role.value}) grants neither {Scope.cases_read.value} "
                            f"nor {Scope.org_write.value}.", "دسترسی به درخت سازمانی برای نقش شما تعریف نشده است.")
        return principal

    return dependency


def _check_covers(principal: Principal, unit_id: str) -> None:
    if not principal.covers(unit_id):
        raise Forbidden(f"Unit {unit_id} is outside {principal.unit}; you change units of your own subtree only.",
                        "این واحد خارج از واحدهای تحت مسئولیت شماست.")


def _existing(tree: OrgTree, unit_id: str) -> OrgUnit:
    if (unit := tree.unit(unit_id)) is None:
        raise HTTPException(status_code=404, detail={"code": "unknown_unit", "message_fa": f"واحد «{unit_id}» در درخت سازمانی نیست.",
                                                     "message_en": f"There is no unit {unit_id!r} in the tree in force."})
    return unit


def _refusal(status: int, unit_id: str, refusal: InvalidChange) -> JSONResponse:
    return JSONResponse(status_code=status, content=problem(refusal.code, refusal.reason_fa, refusal.reason_en, unit_id=unit_id))


async def _publish(runtime: Runtime, change: Event) -> None:
    async with runtime.sessions() as session, session.begin():
        runtime.stage(session, change)
    runtime.committed()


def _view(tree: OrgTree, unit: OrgUnit) -> UnitView:
    return UnitView(id=unit.id, parent_id=unit.parent_id, name_fa=unit.name_fa, name_en=unit.name_en, kind=unit.kind.value, agency=unit.agency,
                    province=unit.province, county=unit.county, calendar=unit.calendar, contact=unit.contact,
                    children=[child.id for child in tree.children(unit.id)])
