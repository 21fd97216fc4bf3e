"""Follow-up's tables for the work on a case: its view of each case (from the facts on `hub.cases.v1`)
and the steps staff and agency systems took on it. Texts live here, never on the bus."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class WorkedCase(SQLModel, table=True):
    """A case as follow-up works on it. `unit_id` is empty until the case is routed."""

    __tablename__ = "followup_case"

    case_id: UUID = Field(primary_key=True)
    tracking_code: str = Field(max_length=32)
    case_number: str | None = Field(default=None, max_length=32, index=True)
    channel: str | None = Field(default=None, max_length=32)
    topic_id: str | None = Field(default=None, max_length=64, description="intake's suggestion, then staff's decision")
    unit_id: str | None = Field(default=None, max_length=200, index=True)
    unit_name: str | None = Field(default=None, max_length=300)
    agency: str = Field(max_length=64)
    kind: str | None = Field(default=None, max_length=32)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    deadline_at: datetime | None = Field(default=None, index=True)
    stage: str = Field(max_length=32, index=True)
    reopenings: int = 0
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class WorkStep(SQLModel, table=True):
    """One step on a case (response, opinion, information request, inspection, approval, ...): who, when, what."""

    __tablename__ = "followup_case_step"
    __table_args__ = (UniqueConstraint("source_system", "source_ref", name="uq_followup_step_source"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    step: str = Field(max_length=32)
    unit_id: str = Field(max_length=200)
    actor: str = Field(max_length=128)
    actor_role: str = Field(max_length=32)
    actor_unit: str = Field(max_length=200)
    at: datetime
    text: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    outcome: str | None = Field(default=None, max_length=32)
    legal_grounds: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    attachments: list[str] = Field(default_factory=list, sa_column=Column(JSON(), nullable=False))
    clock_paused: bool | None = None
    source_system: str | None = Field(default=None, max_length=64)
    source_ref: str | None = Field(default=None, max_length=128)
