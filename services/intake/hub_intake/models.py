"""Intake's own tables. Personal data lives only here (encryption at rest is a later step)."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (intake owns these tables too)


class Case(SQLModel, table=True):
    __tablename__ = "intake_case"

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    case_id: UUID = Field(unique=True)
    case_number: str = Field(default="", max_length=32, index=True)
    tracking_code: str = Field(unique=True, max_length=16)
    kind: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    subject_text: str = Field(max_length=300)
    description: str
    agency: str = Field(max_length=64)
    province: str = Field(max_length=64)
    county: str | None = Field(default=None, max_length=64)
    confidential: bool = False
    status: str = Field(max_length=32)
    registered_at: datetime


class Complainant(SQLModel, table=True):
    """Who filed the case. Never leaves intake; the bus carries only `citizen_ref`."""

    __tablename__ = "intake_complainant"

    case_id: UUID = Field(primary_key=True)
    full_name: str = Field(max_length=200)
    national_id: str = Field(max_length=10)
    phone: str = Field(max_length=20)
    address: str = Field(max_length=500)
    citizen_ref: str = Field(max_length=64, index=True)
