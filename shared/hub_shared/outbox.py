"""The outbox relay: publishes staged events in commit order and marks them published.

Rows are picked by `published_at IS NULL`, never by an id high-water mark, so a row whose
transaction commits late (PostgreSQL hands out ids before commit) is still published. One relay
per service publishes at a time (a PostgreSQL advisory lock), which keeps per-case order across
replicas. A crash between publish and mark republishes; consumers drop the copy by event id.
"""

import asyncio
import logging
import zlib
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, text, update
from sqlmodel import col, select

from hub_shared.db import SessionFactory, is_sqlite
from hub_shared.messaging import OutboxMessage

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub.outbox")


class OutboxRelay:
    def __init__(self, *, broker: KafkaBroker, sessions: SessionFactory, service: str, database_url: str,
                 batch_size: int, poll_seconds: float, retention: timedelta = timedelta(days=7)) -> None:
        self._broker = broker
        self._sessions = sessions
        self._lock_id = zlib.crc32(f"outbox:{service}".encode())
        self._use_advisory_lock = not is_sqlite(database_url)
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def notify(self) -> None:
        """Tell the relay new rows were committed, so it need not wait for the next poll."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        last_purge = datetime.now(UTC)
        while True:
            try:
                published = await self.publish_pending()
                if datetime.now(UTC) - last_purge > timedelta(hours=1):
                    await self.purge_published()
                    last_purge = datetime.now(UTC)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying after a pause")
                published = 0
                await asyncio.sleep(1)
            if published < self._batch_size:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        async with self._sessions() as session, session.begin():
            if self._use_advisory_lock:
                locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": self._lock_id})
                if not locked.scalar():
                    return 0
            rows = (await session.exec(
                select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))
                .order_by(col(OutboxMessage.id)).limit(self._batch_size)
            )).all()
            if not rows:
                return 0
            sent = await self._send_in_order(rows)
            if sent:
                await session.execute(
                    update(OutboxMessage).where(col(OutboxMessage.id).in_([row.id for row in sent]))
                    .values(published_at=datetime.now(UTC))
                )
            return len(sent)

    async def _send_in_order(self, rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """Send rows in id order; return the prefix the broker acknowledged. A row that fails stops
        the batch there, so later rows (possibly of the same case) are not published before it."""
        pending: list[tuple[OutboxMessage, asyncio.Future]] = []
        failure: Exception | None = None
        for row in rows:
            try:
                pending.append((row, await self._send(row)))
            except Exception as exc:
                failure = exc
                break
        results = await asyncio.gather(*(future for _, future in pending), return_exceptions=True)
        sent = []
        for (row, _), result in zip(pending, results):
            if isinstance(result, BaseException):
                failure = failure or result
                break
            sent.append(row)
        if failure is not None:
            log.error("outbox row %s to %s not published (%s: %s); it and later rows will be retried",
                      rows[len(sent)].id, rows[len(sent)].topic, type(failure).__name__, failure)
        return sent

    async def _send(self, row: OutboxMessage) -> asyncio.Future:
        parent = propagate.extract(row.headers)
        with tracer.start_as_current_span(f"{row.topic} publish", context=parent, kind=SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.destination.name", row.topic)
            span.set_attribute("messaging.message.id", row.event_id)
            span.set_attribute("messaging.kafka.message.key", row.key)
            headers = dict(row.headers)
            propagate.inject(headers)
            return await self._broker.publish(row.value, row.topic, key=row.key.encode(), headers=headers, no_confirm=True)

    async def purge_published(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        async with self._sessions() as session, session.begin():
            await session.execute(delete(OutboxMessage).where(col(OutboxMessage.published_at) < cutoff))
