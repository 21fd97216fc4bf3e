"""What people do to a routed case in routing: transfer it to another agency, forward it down to a
sub-unit, return it to the body that referred it, reject it for one of the legal reasons. The deadline never changes; transfers are limited. A
move names the new unit's working calendar, which followup counts the steps still ahead on.
Also shows the rules in force."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from hub_routing.models import Move, Referral
from hub_routing.rulebook import REJECT_REASONS, RETURN_REASONS, RuleBook, nearest
from hub_routing.settings import RoutingSettings
from hub_shared.access import CASE_ACTIONS, CaseAction
from hub_shared.auth import AUTH_RESPONSES, Forbidden, Principal, Scope, check_case_access, requires
from hub_shared.events import CaseForwarded, CaseRejected, CaseReturned, CaseTransferred, Target
from hub_shared.reference import org_seed
from hub_shared.service import Runtime

MOVERS = CASE_ACTIONS[CaseAction.move]
REJECTERS = CASE_ACTIONS[CaseAction.reject]
NOT_FOUND = {404: {"description": "No routed case has this id"},
             409: {"description": "The move is not allowed now; the body says why"}}


class Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1, max_length=64, description="the agency whose matter it is")
    reason: str = Field(min_length=10, max_length=1000)


class Forward(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: str = Field(min_length=1, max_length=200, description="a sub-unit of the unit holding the case")
    reason: str = Field(min_length=3, max_length=1000)


class Return(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(description=f"one of {sorted(RETURN_REASONS)}")
    note: str = Field("", max_length=1000)


class Reject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(description=f"one of {sorted(REJECT_REASONS)}: the legal reason the citizen is told")
    note: str = Field("", max_length=1000, description="for the record; not sent to the citizen")


class Moved(BaseModel):
    case_id: UUID
    unit_id: str | None
    status: str
    transfers: int
    deadline_at: datetime


class RulesInForce(BaseModel):
    version: str
    files: dict[str, str]
    last_error: str | None


def router(runtime: Runtime, tree, rules: RuleBook, settings: RoutingSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["routing"])
    may_read = requires(runtime.auth, Scope.cases_read)

    def mover(principal: Annotated[Principal, Depends(may_read)]) -> Principal:
        if principal.role not in MOVERS:
            raise Forbidden(f"Role {principal.role.value} does not move cases between units.",
                            "نقش شما اجازه جابه‌جایی پرونده میان واحدها را ندارد.")
        return principal

    def rejecter(principal: Annotated[Principal, Depends(may_read)]) -> Principal:
        if principal.role not in REJECTERS:
            raise Forbidden(f"Role {principal.role.value} does not reject cases; the office's experts and managers do.",
                            "رد پرونده با کارشناس یا مدیر دفتر است و از نقش شما برنمی‌آید.")
        return principal

    async def held(session, case_id: UUID, principal: Principal) -> Referral:
        referral = await session.get(Referral, case_id)
        if referral is None or referral.status not in ("referred", "transferred", "forwarded"):
            raise HTTPException(404, detail={"code": "unknown_case", "message_fa": "پرونده ارجاع‌شده‌ای با این شناسه یافت نشد.",
                                             "message_en": f"No referred case has id {case_id}."})
        check_case_access(principal, str(case_id), referral.unit_id, referral.confidential, referral.about_employee)
        return referral

    def record(session, referral: Referral, action: str, to_unit: str | None, principal: Principal, reason: str, now: datetime) -> None:
        session.add(Move(case_id=referral.case_id, action=action, from_unit=referral.unit_id, to_unit=to_unit,
                         actor=principal.subject, reason=reason, at=now))

    @api.post("/cases/{case_id}/transfer", response_model=Moved, responses={**AUTH_RESPONSES, **NOT_FOUND, 422: {"description": "Unknown agency"}})
    async def transfer(case_id: UUID, body: Transfer, principal: Annotated[Principal, Depends(mover)]) -> Moved:
        """Send the case to the agency whose matter it is: its nearest performance office; the deadline stays."""
        if body.agency not in org_seed().agencies:
            raise HTTPException(422, detail={"code": "unknown_agency", "message_fa": "دستگاه مقصد شناخته نشد.",
                                             "message_en": f"Unknown agency {body.agency!r}."})
        async with runtime.sessions() as session, session.begin():
            referral = await held(session, case_id, principal)
            if body.agency == referral.agency:
                raise _conflict("same_agency", "پرونده هم‌اکنون در همین دستگاه است.", "The case is already with that agency.")
            if referral.transfers >= settings.max_transfers:
                raise _conflict("too_many_transfers", f"پرونده بیش از {settings.max_transfers} بار منتقل شده است؛ دستگاه فعلی باید رسیدگی کند.",
                                f"The case was already transferred {referral.transfers} times (limit {settings.max_transfers}).")
            place = _place(tree, referral.unit_id)
            to_unit = nearest(tree.unit, body.agency, place, "performance-office")
            if to_unit is None:
                raise _conflict("no_unit", "دستگاه مقصد دفتری برای رسیدگی در این استان ندارد.", f"{body.agency} has no performance office for this place.")
            now, unit = datetime.now(UTC), tree.unit(to_unit)
            record(session, referral, "transfer", to_unit, principal, body.reason, now)
            event = CaseTransferred(case_id=case_id, tracking_code=referral.tracking_code, from_unit=referral.unit_id, unit_id=to_unit,
                                    unit_name=unit.name_fa, agency=body.agency, transfers=referral.transfers + 1,
                                    deadline_at=referral.deadline_at, reason=body.reason, by=principal.subject, transferred_at=now,
                                    calendar=unit.calendar)
            referral.unit_id, referral.agency, referral.transfers, referral.status = to_unit, body.agency, referral.transfers + 1, "transferred"
            session.add(referral)
            runtime.stage(session, event)
        runtime.committed()
        return Moved(case_id=case_id, unit_id=to_unit, status="transferred", transfers=referral.transfers, deadline_at=referral.deadline_at)

    @api.post("/cases/{case_id}/forward", response_model=Moved, responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def forward(case_id: UUID, body: Forward, principal: Annotated[Principal, Depends(mover)]) -> Moved:
        """Hand the case down to a sub-unit of the unit holding it."""
        async with runtime.sessions() as session, session.begin():
            referral = await held(session, case_id, principal)
            unit = tree.unit(body.unit_id)
            if unit is None or not body.unit_id.startswith(referral.unit_id.rsplit("/", 1)[0] + "/") or body.unit_id == referral.unit_id:
                raise _conflict("not_a_sub_unit", "واحد مقصد زیرمجموعه واحد رسیدگی‌کننده نیست.",
                                f"{body.unit_id} is not a sub-unit of {referral.unit_id}'s office.")
            now = datetime.now(UTC)
            record(session, referral, "forward", body.unit_id, principal, body.reason, now)
            runtime.stage(session, CaseForwarded(case_id=case_id, tracking_code=referral.tracking_code, from_unit=referral.unit_id,
                                                 unit_id=body.unit_id, unit_name=unit.name_fa, reason=body.reason,
                                                 by=principal.subject, forwarded_at=now, calendar=unit.calendar))
            referral.unit_id, referral.status = body.unit_id, "forwarded"
            session.add(referral)
        runtime.committed()
        return Moved(case_id=case_id, unit_id=body.unit_id, status="forwarded", transfers=referral.transfers, deadline_at=referral.deadline_at)

    @api.post("/cases/{case_id}/return", response_model=Moved, responses={**AUTH_RESPONSES, **NOT_FOUND, 422: {"description": "Unknown reason"}})
    async def send_back(case_id: UUID, body: Return, principal: Annotated[Principal, Depends(mover)]) -> Moved:
        """Outside the office's mandate: back to the body that referred it, or archived."""
        if body.reason_code not in RETURN_REASONS:
            raise HTTPException(422, detail={"code": "unknown_reason", "message_fa": "علت اعاده شناخته نشد.",
                                             "message_en": f"Unknown reason {body.reason_code!r}; use one of {sorted(RETURN_REASONS)}."})
        async with runtime.sessions() as session, session.begin():
            referral = await held(session, case_id, principal)
            now = datetime.now(UTC)
            fa, en = RETURN_REASONS[body.reason_code]
            record(session, referral, "return", None, principal, f"{body.reason_code}: {body.note}", now)
            runtime.stage(session, CaseReturned(case_id=case_id, tracking_code=referral.tracking_code, reason_code=body.reason_code,
                                                reason_fa=fa, reason_en=en, by=principal.subject, returned_at=now))
            referral.status = "returned"
            session.add(referral)
        runtime.committed()
        return Moved(case_id=case_id, unit_id=None, status="returned", transfers=referral.transfers, deadline_at=referral.deadline_at)

    @api.post("/cases/{case_id}/reject", response_model=Moved, responses={**AUTH_RESPONSES, **NOT_FOUND, 422: {"description": "Unknown reason"}})
    async def reject(case_id: UUID, body: Reject, principal: Annotated[Principal, Depends(rejecter)]) -> Moved:
        """Not to be processed, for one of the legal reasons (an appeal against a final ruling, no precise target,
        unreasoned, outside every mandate); the citizen is told the reason and the follow-up ladder stops."""
        if body.reason_code not in REJECT_REASONS:
            raise HTTPException(422, detail={"code": "unknown_reason", "message_fa": "علت رد شناخته نشد.",
                                             "message_en": f"Unknown reason {body.reason_code!r}; use one of {sorted(REJECT_REASONS)}."})
        async with runtime.sessions() as session, session.begin():
            referral = await held(session, case_id, principal)
            now = datetime.now(UTC)
            fa, en = REJECT_REASONS[body.reason_code]
            record(session, referral, "reject", None, principal, f"{body.reason_code}: {body.note}", now)
            runtime.stage(session, CaseRejected(case_id=case_id, tracking_code=referral.tracking_code, reason_code=body.reason_code,
                                                reason_fa=fa, reason_en=en, rejected_at=now))
            referral.status = "rejected"
            session.add(referral)
        runtime.committed()
        return Moved(case_id=case_id, unit_id=None, status="rejected", transfers=referral.transfers, deadline_at=referral.deadline_at)

    @api.get("/rules", response_model=RulesInForce, responses=AUTH_RESPONSES)
    async def rules_in_force(_: Annotated[Principal, Depends(may_read)]) -> RulesInForce:
        """The version of the rules in force, each file's own version label, and why the last change was refused."""
        current = rules.current
        return RulesInForce(version=current.version, files={name: f.version for name, f in current.files.items()},
                            last_error=rules.last_error)

    return api


def _conflict(code: str, fa: str, en: str) -> HTTPException:
    return HTTPException(409, detail={"code": code, "message_fa": fa, "message_en": en})


def _place(tree, unit_id: str) -> Target:
    """Where the unit holding a case sits, as a target (its agency, province and county)."""
    unit = tree.unit(unit_id)
    return Target(agency=unit.agency or unit_id.split("/")[0], province=unit.province or "-", county=unit.county)
