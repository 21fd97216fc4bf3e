"""Follow-up's HTTP side: the timers of a case, for staff and operations."""

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel import col, select

from hub_followup.models import Timer
from hub_shared.service import Runtime


class TimerView(BaseModel):
    step: str
    unit_id: str
    due_at: datetime
    status: str
    attempts: int


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["timers"])

    @api.get("/cases/{case_id}/timers", response_model=list[TimerView])
    async def case_timers(case_id: UUID) -> list[TimerView]:
        async with runtime.sessions() as session:
            timers = (await session.exec(select(Timer).where(Timer.case_id == case_id).order_by(col(Timer.due_at)))).all()
        return [TimerView.model_validate(timer, from_attributes=True) for timer in timers]

    return api
