"""Routing's own tables."""

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (routing owns these tables too)


class Referral(SQLModel, table=True):
    """Where a case was sent, by which rule, and by when it must be answered."""

    __tablename__ = "routing_referral"

    case_id: UUID = Field(primary_key=True)
    tracking_code: str = Field(max_length=16)
    unit_id: str = Field(max_length=200)
    rule: str = Field(max_length=100)
    working_days: int
    deadline_at: datetime
    routed_at: datetime
