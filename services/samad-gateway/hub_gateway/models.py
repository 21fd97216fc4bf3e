"""The gateway's own tables."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (the gateway owns these tables too)


class ExternalCase(SQLModel, table=True):
    """A case that came from SAMAD or the inspection organization: its status must travel back there."""

    __tablename__ = "gateway_external_case"

    case_id: UUID = Field(primary_key=True)
    origin: str = Field(max_length=32)
    tracking_code: str = Field(max_length=16)
    last_status: str = Field(max_length=32)
    updated_at: datetime


class ExternalRef(SQLModel, table=True):
    """A case received from a remote, by the remote's own id: the receipt that makes delivery idempotent,
    and, once intake has registered (or linked) it, the case it became."""

    __tablename__ = "gateway_external_ref"

    remote: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=100)
    case_id: UUID | None = Field(default=None, index=True)
    tracking_code: str | None = Field(default=None, max_length=16)
    last_status: str = Field(max_length=32)
    received_at: datetime
    updated_at: datetime


class Delivery(SQLModel, table=True):
    """One status update or answer waiting for (or done with) delivery to the remote it came from.
    Rows of one external case are delivered strictly in `sequence` order."""

    __tablename__ = "gateway_delivery"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    update_id: str = Field(max_length=64, unique=True)
    remote: str = Field(max_length=32, index=True)
    external_id: str = Field(max_length=100)
    sequence: int
    status: str = Field(max_length=32, description="the hub's status name; mapped to the remote's code when sent")
    payload: dict = Field(sa_column=Column(JSON(), nullable=False))
    state: str = Field(default="pending", max_length=16, index=True, description="pending, delivered or refused")
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
