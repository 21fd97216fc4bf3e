"""The durable queue of messages to citizens. A row holds what to say, never whom to: the phone or
e-mail address is decrypted from the complainant row only when the message is sent."""

from datetime import datetime
from enum import Enum
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

MAX_ERROR_CHARS = 200


class Channel(str, Enum):
    sms = "sms"
    email = "email"

    @property
    def contact_field(self) -> str:
        """The complainant's personal field this channel sends to."""
        return "phone" if self is Channel.sms else "email"


class Status(str, Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(SQLModel, table=True):
    __tablename__ = "intake_notification"
    __table_args__ = (
        # a fact delivered twice enqueues once; one row per channel, so SMS and e-mail succeed or fail apart
        UniqueConstraint("case_id", "template", "event_id", "channel", name="uq_intake_notification_fact"),
        Index("ix_intake_notification_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    case_id: UUID = Field(index=True)
    template: str = Field(max_length=32)
    event_id: str = Field(max_length=64, description="the fact or request that caused it")
    channel: str = Field(max_length=8)
    params: dict[str, str] = Field(sa_column=Column(JSON(), nullable=False), description="what the template shows; no personal data")
    status: str = Field(default=Status.pending.value, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, max_length=MAX_ERROR_CHARS, description="never holds the phone or e-mail")
    created_at: datetime
    sent_at: datetime | None = None
