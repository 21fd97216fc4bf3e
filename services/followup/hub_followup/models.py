"""Follow-up's ladder tables: each case's ladder and its durable timers, which survive restarts."""

from datetime import datetime
from enum import Enum
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (follow-up owns these tables too)


class TimerStatus(str, Enum):
    pending = "pending"  # waiting for its due time; a replica may hold a lease on it while firing
    paused = "paused"  # the case waits for the citizen's information; the due time moves on resume
    fired = "fired"
    cancelled = "cancelled"
    failed = "failed"  # firing raised on every allowed attempt; left for an operator (`firing.retry_failed`)


class Ladder(SQLModel, table=True):
    """The ladder of one case: the unit that holds it and its working calendar, its deadline, and whether its
    clock is paused."""

    __tablename__ = "followup_ladder"

    case_id: UUID = Field(primary_key=True)
    tracking_code: str = Field(max_length=16)
    agency: str = Field(max_length=64)
    unit_id: str = Field(max_length=200)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    deadline_at: datetime
    calendar: str | None = Field(default=None, max_length=64, description=(
        "the working calendar of the unit holding the case, as routing names it; none (routed before it was "
        "named): the standard one"))
    number: int = Field(default=1, description="1 for the first ladder, n + 1 for each new one (reopened or routed again)")
    paused_at: datetime | None = None
    closed_at: datetime | None = None


class Timer(SQLModel, table=True):
    """A step of a case's ladder due at a time: one per case, ladder and step."""

    __tablename__ = "followup_timer"
    __table_args__ = (UniqueConstraint("case_id", "ladder", "step", name="uq_timer_case_ladder_step"),
                      Index("ix_followup_timer_status_due_at", "status", "due_at"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    ladder: int = Field(default=1, description="the `Ladder.number` the step belongs to")
    tracking_code: str = Field(max_length=16)
    unit_id: str = Field(max_length=200)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    step: str = Field(max_length=32)
    due_at: datetime = Field(index=True)
    counted_from: datetime | None = Field(default=None, description=(
        "what `due_at` is counted from: the deadline, or the due time of the step before; none on steps set before 0008"))
    working_days: int | None = Field(default=None, description="working days after `counted_from` (before it, when negative)")
    status: str = Field(max_length=16)
    lease_until: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0, description="leases taken to fire it, failed ones included")
    last_error: str | None = Field(default=None, max_length=500, description="the last failure to fire: error class and first line")
    fired_at: datetime | None = None
    created_at: datetime
