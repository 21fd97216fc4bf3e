"""Reporting's read models, built only from events."""

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (reporting owns these tables too)


class CaseStatus(SQLModel, table=True):
    __tablename__ = "reporting_case_status"

    tracking_code: str = Field(primary_key=True, max_length=16)
    case_id: UUID = Field(unique=True)
    case_number: str = Field(default="", max_length=32)
    kind: str = Field(default="", max_length=32)
    channel: str = Field(default="", max_length=32)
    status: str = Field(max_length=32)
    unit_id: str | None = Field(default=None, max_length=200)
    unit_name: str | None = None
    deadline_at: datetime | None = None
    registered_at: datetime | None = None
    updated_at: datetime


class CaseHistoryEntry(SQLModel, table=True):
    __tablename__ = "reporting_case_history"

    event_id: str = Field(primary_key=True, max_length=64)
    case_id: UUID = Field(index=True)
    event_type: str = Field(max_length=128)
    status: str = Field(max_length=32)
    occurred_at: datetime
    note_fa: str
    note_en: str
