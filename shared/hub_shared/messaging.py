"""The transactional outbox and the inbox (idempotent consumer) tables, shared by every service.

A state change and the events it causes commit in one transaction (`stage`); the relay publishes
them. A consumer records each processed event id in the same transaction as its effect, so a
redelivered event changes nothing.
"""

from datetime import UTC, datetime

from opentelemetry import propagate
from sqlalchemy import JSON, BigInteger, Column, Integer, LargeBinary
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.envelope import Envelope, to_kafka, wrap
from hub_shared.events import Event


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64, unique=True)
    topic: str = Field(max_length=128)
    key: str = Field(max_length=128)
    value: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    headers: dict = Field(sa_column=Column(JSON(), nullable=False))
    created_at: datetime
    published_at: datetime | None = None


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=128)
    processed_at: datetime


def stage(session: AsyncSession, event: Event, source: str) -> Envelope:
    """Add `event` to the outbox inside the caller's transaction, with the current trace context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    envelope = wrap(event, source)
    key, value, headers = to_kafka(envelope)
    headers.update(carrier)
    session.add(
        OutboxMessage(
            event_id=envelope.id,
            topic=event.topic,
            key=key.decode(),
            value=value,
            headers=headers,
            created_at=envelope.time,
        )
    )
    return envelope


async def processed_ids(session: AsyncSession, consumer: str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` this consumer already applied (one query for a whole batch)."""
    rows = await session.exec(select(InboxEntry.event_id).where(InboxEntry.consumer == consumer, col(InboxEntry.event_id).in_(event_ids)))
    return set(rows.all())


def record_processed(session: AsyncSession, consumer: str, envelope: Envelope) -> None:
    """Claim `envelope` for `consumer` in this transaction; a concurrent claim fails the commit, never doubles the effect."""
    session.add(InboxEntry(consumer=consumer, event_id=envelope.id, event_type=envelope.type, processed_at=datetime.now(UTC)))
