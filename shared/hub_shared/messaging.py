"""The transactional outbox and the inbox (idempotent consumer) tables, shared by every service.

A state change and the events it causes commit in one transaction (`stage`); the relay publishes
them, or parks a row the broker refuses for good (`parked_at`, `last_error`) until an operator
releases it. A consumer records each processed event id in the same transaction as its effect, so a
redelivered event changes nothing.
"""

from datetime import UTC, datetime

from opentelemetry import propagate
from sqlalchemy import JSON, BigInteger, Column, Integer, LargeBinary, func, insert, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.envelope import Envelope, to_kafka, wrap
from hub_shared.events import Event
from hub_shared.pending import add_row


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
    parked_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)  # the error's class and message, never the payload
    broker_epoch: str | None = Field(default=None, max_length=64)  # the cluster id it was published to (hub_shared.bus)


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=128)
    processed_at: datetime


def stage(session: AsyncSession, event: Event, source: str) -> Envelope:
    """Add `event` to the outbox inside the caller's transaction, with the current trace context."""
    envelope, row = outbox_row(event, source, trace_context())
    add_row(session, OutboxMessage, row)
    return envelope


async def stage_all(session: AsyncSession, staged: list[tuple[Event, dict[str, str]]], source: str) -> None:
    """Add each event, with the trace context it was caused in, to the outbox in one statement, in order."""
    for event, context in staged:  # after the rows staged before them, in the same statement where they can be
        add_row(session, OutboxMessage, outbox_row(event, source, context)[1])


def trace_context() -> dict[str, str]:
    """The current trace context as outbox headers (`traceparent`, `tracestate`)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def outbox_row(event: Event, source: str, context: dict[str, str]) -> tuple[Envelope, dict]:
    """The envelope of `event` and the outbox columns that encode it."""
    envelope = wrap(event, source)
    key, value, headers = to_kafka(envelope)
    headers.update(context)
    return envelope, {"event_id": envelope.id, "topic": event.topic, "key": key.decode(), "value": value,
                      "headers": headers, "created_at": envelope.time}


async def processed_ids(session: AsyncSession, consumer: str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` this consumer already applied (one query for a whole batch)."""
    rows = await session.exec(select(InboxEntry.event_id).where(InboxEntry.consumer == consumer, col(InboxEntry.event_id).in_(event_ids)))
    return set(rows.all())


def inbox_row(consumer: str, envelope: Envelope) -> dict:
    """The inbox row that claims `envelope` for `consumer`; written in the transaction of its effect (`record_processed`),
    a concurrent claim fails the commit and never doubles the effect."""
    return {"consumer": consumer, "event_id": envelope.id, "event_type": envelope.type, "processed_at": datetime.now(UTC)}


async def record_processed(session: AsyncSession, rows: list[dict]) -> None:
    """Claim a batch's envelopes (`inbox_row`) in one statement."""
    if rows:
        await session.execute(insert(InboxEntry), rows)


async def parked_rows(session: AsyncSession) -> list[OutboxMessage]:
    """Rows the relay parked, oldest first (`hub outbox parked`)."""
    return list((await session.exec(
        select(OutboxMessage).where(col(OutboxMessage.parked_at).is_not(None)).order_by(col(OutboxMessage.id))
    )).all())


async def count_parked(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.parked_at).is_not(None)))).one()


async def release(session: AsyncSession, ids: list[int] | None) -> list[int]:
    """Clear `parked_at` and `last_error` of the given parked rows (all with None), so the relay retries
    them in id order. Return the ids released; a row still held behind a parked one is parked again."""
    query = select(OutboxMessage.id).where(col(OutboxMessage.parked_at).is_not(None))
    if ids is not None:
        query = query.where(col(OutboxMessage.id).in_(ids))
    released = sorted((await session.exec(query)).all())
    if released:
        await session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(released)).values(parked_at=None, last_error=None))
    return released
