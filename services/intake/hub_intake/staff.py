"""What staff see of a case in intake: its content, and the complainant's personal data for a stated
purpose. Both are limited by the organisation tree, confidentiality and the rule that nobody sees a
case about themself, and every read is written to the append-only audit log (who, what, when, why)."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake.models import PERSONAL_FIELDS, AuditEntry, Case, CaseHistory, Complainant, Objection, open_personal_data
from hub_intake.settings import IntakeSettings
from hub_shared.auth import AUTH_RESPONSES, Principal, Scope, check_case_access, in_subtree, requires
from hub_shared.service import Runtime

NOT_FOUND = {404: {"description": "No case has this id"}}


class CaseEntry(BaseModel):
    status: str
    at: datetime
    note_fa: str
    note_en: str


class CaseDetail(BaseModel):
    case_id: UUID
    case_number: str
    tracking_code: str
    kind: str
    channel: str
    complainant_type: str = Field(description="natural, or group or legal: then the complainant is their representative")
    organisation_name: str | None = Field(description="the group or legal person the complainant represents")
    subject: str
    description: str
    agency: str
    province: str
    county: str | None
    confidential: bool
    status: str
    unit_id: str
    unit_name: str | None
    deadline_at: datetime | None
    registered_at: datetime
    answer_outcome: str | None
    answer_fa: str | None
    legal_grounds: str | None
    answered_at: datetime | None
    objections: list[CaseEntry]
    history: list[CaseEntry]


class ComplainantView(BaseModel):
    full_name: str
    national_id: str
    phone: str
    address: str


class AuditView(BaseModel):
    at: datetime
    actor: str
    actor_role: str
    actor_unit: str
    action: str
    case_id: UUID
    case_unit: str
    fields: str
    purpose: str


Purpose = Annotated[str, Query(min_length=10, max_length=500, description="why the data is needed, for the audit log")]


def router(runtime: Runtime, settings: IntakeSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["staff"])
    may_read_cases = requires(runtime.auth, Scope.cases_read)
    may_read_personal_data = requires(runtime.auth, Scope.personal_data_read)
    may_read_audit = requires(runtime.auth, Scope.audit_read)

    @api.get("/cases/{case_id}", response_model=CaseDetail, responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def case_detail(case_id: UUID, principal: Annotated[Principal, Depends(may_read_cases)]) -> CaseDetail:
        """The case as the citizen filed it (subject and description too), without personal data."""
        async with runtime.sessions() as session, session.begin():
            case = await visible_case(session, case_id, principal)
            history = (await session.exec(select(CaseHistory).where(CaseHistory.case_id == case_id)
                                          .order_by(col(CaseHistory.at), col(CaseHistory.id)))).all()
            objections = (await session.exec(select(Objection).where(Objection.case_id == case_id).order_by(col(Objection.id)))).all()
            audit(session, principal, case, "read_case", ("subject", "description", "objections"), "case work")
            return CaseDetail(subject=case.subject_text, history=[CaseEntry.model_validate(h, from_attributes=True) for h in history],
                              objections=[CaseEntry(status="reopened", at=o.at, note_fa=o.text, note_en="") for o in objections],
                              **case.model_dump(exclude={"subject_text", "seq", "about_employee"}))

    @api.get("/cases/{case_id}/complainant", response_model=ComplainantView, responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def complainant(case_id: UUID, purpose: Purpose,
                          principal: Annotated[Principal, Depends(may_read_personal_data)]) -> ComplainantView:
        """The complainant's name, national ID, phone and address, decrypted; the read and its purpose are audited."""
        async with runtime.sessions() as session, session.begin():
            case = await visible_case(session, case_id, principal)
            sealed = (await session.exec(select(Complainant).where(Complainant.case_id == case_id))).one()
            audit(session, principal, case, "read_personal_data", PERSONAL_FIELDS, purpose)
            return ComplainantView(**open_personal_data(settings.personal_data_vault, case_id, sealed.model_dump()))

    @api.get("/audit", response_model=list[AuditView], responses=AUTH_RESPONSES)
    async def audit_log(principal: Annotated[Principal, Depends(may_read_audit)], case_id: UUID | None = None,
                        actor: str | None = Query(None, max_length=128),
                        limit: int = Query(100, ge=1, le=1000)) -> list[AuditView]:
        """Who read what of the cases held in the caller's subtree, newest first."""
        query = select(AuditEntry).where(in_subtree(col(AuditEntry.case_unit), principal))
        if case_id is not None:
            query = query.where(AuditEntry.case_id == case_id)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        async with runtime.sessions() as session:
            entries = (await session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit))).all()
        return [AuditView.model_validate(entry, from_attributes=True) for entry in entries]

    return api


async def visible_case(session: AsyncSession, case_id: UUID, principal: Principal) -> Case:
    """The case, if `principal` may see it (404 when there is none, 403 with the reason when they may not)."""
    case = (await session.exec(select(Case).where(Case.case_id == case_id))).first()
    if case is None:
        raise HTTPException(404, detail={"code": "unknown_case", "message_fa": "پرونده‌ای با این شناسه یافت نشد.",
                                         "message_en": f"No case has id {case_id}."})
    check_case_access(principal, case.case_number, case.unit_id, case.confidential, case.about_employee)
    return case


def audit(session: AsyncSession, principal: Principal, case: Case, action: str, fields: tuple[str, ...], purpose: str) -> None:
    """Written in the same transaction as the read: no read without its audit entry."""
    session.add(AuditEntry(at=datetime.now(UTC), actor=principal.subject, actor_role=principal.role.value,
                           actor_unit=principal.unit, action=action, case_id=case.case_id, case_unit=case.unit_id,
                           fields=",".join(fields), purpose=purpose))
