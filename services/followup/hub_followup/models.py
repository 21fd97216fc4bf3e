"""Follow-up's own tables: durable timers that survive restarts."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (follow-up owns these tables too)


class Timer(SQLModel, table=True):
    """A step due at a time for a case: one per case and step. Firing and leases come with the ladder."""

    __tablename__ = "followup_timer"
    __table_args__ = (UniqueConstraint("case_id", "step", name="uq_timer_case_step"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    tracking_code: str = Field(max_length=16)
    unit_id: str = Field(max_length=200)
    step: str = Field(max_length=32)
    due_at: datetime = Field(index=True)
    status: str = Field(max_length=16)
    lease_until: datetime | None = None
    attempts: int = 0
    created_at: datetime
