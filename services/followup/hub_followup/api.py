"""Follow-up's HTTP side: the ladder steps (timers) of a case, for staff of the units that hold them."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlmodel import col, select

from hub_followup.models import Timer
from hub_shared.auth import AUTH_RESPONSES, AuthSettings, Principal, Scope, check_case_access, requires
from hub_shared.service import Runtime


class TimerView(BaseModel):
    ladder: int = Field(description="1, or n + 1 after the case's n-th new ladder (reopened or routed again)")
    step: str
    unit_id: str
    due_at: datetime
    status: str = Field(description="pending, paused, fired, cancelled, or failed: firing it kept raising and it waits for an operator")
    attempts: int = Field(description="leases taken to fire it, failed ones included")
    last_error: str | None = Field(None, description="why it last failed to fire (error class and first line), if it ever did")


def router(runtime: Runtime, auth: AuthSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["timers"])
    may_read_timers = requires(auth, Scope.timers_read)

    @api.get("/cases/{case_id}/timers", response_model=list[TimerView], responses=AUTH_RESPONSES)
    async def case_timers(case_id: UUID, principal: Annotated[Principal, Depends(may_read_timers)]) -> list[TimerView]:
        async with runtime.sessions() as session:
            timers = (await session.exec(select(Timer).where(Timer.case_id == case_id).order_by(col(Timer.ladder), col(Timer.due_at)))).all()
        if timers:  # a case escalated up the tree has timers on several units: one in the caller's subtree suffices
            held = next((timer for timer in timers if principal.covers(timer.unit_id)), timers[0])
            check_case_access(principal, str(case_id), held.unit_id, held.confidential, held.about_employee)
        return [TimerView.model_validate(timer, from_attributes=True) for timer in timers]

    return api
