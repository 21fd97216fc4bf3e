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
    rule: str = Field(max_length=200)
    working_days: int
    deadline_at: datetime
    routed_at: datetime
    agency: str = Field(default="", max_length=64, description="the agency holding the case now (changes on transfer)")
    kind: str = Field(default="", max_length=32)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    transfers: int = 0
    rules_version: str = Field(default="", max_length=64)
    status: str = Field(default="referred", max_length=32)


class Move(SQLModel, table=True):
    """A case moved by people: transferred to another agency, forwarded down to a sub-unit, returned."""

    __tablename__ = "routing_move"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    action: str = Field(max_length=16)
    from_unit: str | None = Field(default=None, max_length=200)
    to_unit: str | None = Field(default=None, max_length=200)
    actor: str = Field(max_length=128)
    reason: str
    at: datetime
