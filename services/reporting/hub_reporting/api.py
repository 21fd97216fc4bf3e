"""Reporting's HTTP side: a case's status and history by tracking code, for supervising bodies (the
presidential people's-communication centre, supervisors). Citizens track their own case through intake,
which asks for their national ID or phone as well."""

from datetime import datetime

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col, select

from hub_reporting.models import CaseHistoryEntry, CaseStatus
from hub_shared.jalali import to_jalali
from hub_shared.service import Runtime, problem
from hub_shared.auth import AUTH_RESPONSES, Principal, Scope, check_case_access, requires
from hub_shared.tracking import parse_tracking_code


class HistoryItem(BaseModel):
    status: str
    event_type: str
    at: datetime
    at_jalali: str
    note_fa: str
    note_en: str


class StatusView(BaseModel):
    tracking_code: str
    case_number: str
    status: str
    unit_name: str | None
    deadline_at: datetime | None
    deadline_jalali: str | None
    history: list[HistoryItem]


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["status"])
    may_read_status = requires(runtime.auth, Scope.status_read)

    @api.get("/status/{tracking_code}", response_model=StatusView, responses={
        **AUTH_RESPONSES,
        404: {"description": "No case has this tracking code"},
        422: {"description": "The tracking code is mistyped (its check digit does not match)"}})
    async def case_status(tracking_code: str, principal: Annotated[Principal, Depends(may_read_status)]) -> StatusView | JSONResponse:
        code = parse_tracking_code(tracking_code)
        if code is None:
            return JSONResponse(status_code=422, content=problem(
                "mistyped_tracking_code", "کد رهگیری نادرست وارد شده است؛ ۱۱ رقم آن را دوباره بررسی کنید.",
                "The tracking code is mistyped; check its 11 digits."))
        async with runtime.sessions() as session:
            status = await session.get(CaseStatus, code)
            if status is None:
                return JSONResponse(status_code=404, content=problem(
                    "unknown_tracking_code", "پرونده‌ای با این کد رهگیری یافت نشد.", "No case has this tracking code."))
            check_case_access(principal, tracking_code, status.unit_id or "")
            history = (await session.exec(select(CaseHistoryEntry).where(CaseHistoryEntry.case_id == status.case_id)
                                          .order_by(col(CaseHistoryEntry.occurred_at)))).all()
        return StatusView(
            tracking_code=status.tracking_code, case_number=status.case_number, status=status.status,
            unit_name=status.unit_name, deadline_at=status.deadline_at,
            deadline_jalali=to_jalali(status.deadline_at) if status.deadline_at else None,
            history=[HistoryItem(status=h.status, event_type=h.event_type, at=h.occurred_at, at_jalali=to_jalali(h.occurred_at),
                                 note_fa=h.note_fa, note_en=h.note_en) for h in history],
        )

    return api
