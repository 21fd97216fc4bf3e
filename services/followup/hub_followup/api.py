"""Follow-up's HTTP side: the timers of a case, for staff of the units that hold them."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import col, select

from hub_followup.models import Timer
from hub_shared.auth import AuthSettings, Forbidden, Principal, staff_only
from hub_shared.service import Runtime


class TimerView(BaseModel):
    step: str
    unit_id: str
    due_at: datetime
    status: str
    attempts: int


def router(runtime: Runtime, auth: AuthSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["timers"])
    staff = staff_only(auth)

    @api.get("/cases/{case_id}/timers", response_model=list[TimerView],
             responses={401: {"description": "No valid bearer token"}, 403: {"description": "The case is outside the caller's units"}})
    async def case_timers(case_id: UUID, principal: Annotated[Principal, Depends(staff)]) -> list[TimerView]:
        async with runtime.sessions() as session:
            timers = (await session.exec(select(Timer).where(Timer.case_id == case_id).order_by(col(Timer.due_at)))).all()
        if timers and not any(principal.covers(timer.unit_id) for timer in timers):
            raise Forbidden(f"Case {case_id} is handled outside {principal.unit}.",
                            "این پرونده خارج از واحدهای تحت مسئولیت شماست.")
        return [TimerView.model_validate(timer, from_attributes=True) for timer in timers]

    return api
