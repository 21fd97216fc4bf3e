"""The outbox relay: publishes staged events in commit order and marks them published.

Rows are picked by `published_at IS NULL`, never by an id high-water mark, so a row whose
transaction commits late (PostgreSQL hands out ids before commit) is still published. One relay
per service publishes at a time (a PostgreSQL advisory lock), which keeps per-case order across
replicas. A crash between publish and mark republishes; consumers drop the copy by event id.

A row the broker refuses for good (too large, topic invalid or not authorised) is parked
(`parked_at`, `last_error`) instead of blocking every row after it. Later rows of the same topic and
key are parked behind it, so a case's stream never skips ahead; other keys go on. An operator lists
and releases parked rows (`hub outbox parked|release`). Any other failure stops the batch at that row
and the relay retries it.

Rows are stamped with the broker incarnation that acknowledged them (`hub_shared.bus.BrokerIdentity`).
The relay asks the broker who it is before a pass that has rows to send (and every few seconds when
idle), and again after the broker acknowledged them: a row is marked published only if the same
incarnation answered both times. When the id changes (the embedded broker died and came back empty), every
row published to an earlier incarnation goes back to pending, before anything new is sent, so the new
broker receives the lost facts again in their original order; consumers drop those they had by event id.

Between passes the relay sleeps: a commit in this process that staged rows wakes it at once
(`hub_shared.wakeup`); so does the next broker-identity check, and a safety poll finds rows that other
processes put back in line (`hub outbox release`, `hub reconcile --repair`). With replicas, a relay that
finds the lock taken tries again shortly, since the relay holding it may have looked before this
replica's rows committed.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
)
from faststream.kafka import KafkaBroker
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, func, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.bus import BrokerIdentity, create_topics
from hub_shared.db import SessionFactory, sole_worker
from hub_shared.messaging import OutboxMessage, count_parked
from hub_shared.wakeup import Alarm

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub.outbox")

# Refusals of the record itself or of its topic, which no retry changes. aiokafka marks many more
# errors `retriable = False`, KafkaTimeoutError (the broker did not answer in time) and ProducerClosed
# among them; those say nothing about the row, so they stop the batch and the relay retries it.
REFUSED_FOR_GOOD = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError,
                    InvalidTopicError, TopicAuthorizationFailedError)
ERROR_CHARS = 500
CONTENDED_RETRY_SECONDS = 0.05  # another replica's relay holds the lock for one pass, which is short


def refused_for_good(error: BaseException) -> bool:
    return isinstance(error, REFUSED_FOR_GOOD)


class RelayPass(NamedTuple):
    published: int
    parked: int


@dataclass
class _Batch:
    """One pass over pending rows: what the broker took, what is parked and why, where it stopped."""

    held: dict[tuple[str, str], int]  # (topic, key) -> the parked row later rows of that key wait behind
    acknowledged: list[OutboxMessage] = field(default_factory=list)
    parked: list[tuple[OutboxMessage, str]] = field(default_factory=list)
    stop: tuple[OutboxMessage, BaseException] | None = None  # the first row that failed for a reason a retry may cure

    def held_behind(self, row: OutboxMessage) -> int | None:
        behind = self.held.get((row.topic, row.key))
        return behind if behind is not None and behind < row.id else None

    def refuse(self, row: OutboxMessage, error: BaseException) -> None:
        self.parked.append((row, f"{type(error).__name__}: {error}"[:ERROR_CHARS]))
        self.held.setdefault((row.topic, row.key), row.id)

    def hold(self, row: OutboxMessage, behind: int) -> None:
        self.parked.append((row, f"held behind row {behind} (same topic and key), which the broker refused"))

    def fail(self, row: OutboxMessage, error: BaseException) -> None:
        if self.stop is None or row.id < self.stop[0].id:
            self.stop = (row, error)

    def published(self) -> list[OutboxMessage]:
        """Acknowledged rows before the stop; those after it go again (consumers drop the copy by event id)."""
        return [row for row in self.acknowledged if self.stop is None or row.id < self.stop[0].id]


class OutboxRelay:
    def __init__(self, *, broker: KafkaBroker, sessions: SessionFactory, service: str,
                 batch_size: int, poll_seconds: float, retention: timedelta = timedelta(days=7),
                 identity: BrokerIdentity | None = None, bootstrap: str = "", idle_check_seconds: float = 5) -> None:
        self._broker = broker
        self._identity = identity
        self._bootstrap = bootstrap  # where to re-create the catalog's topics when a new incarnation appears
        self._idle_check_seconds = idle_check_seconds
        self._epoch: str | None = None  # the incarnation the outbox was last brought in line with
        self._last_check = float("-inf")
        self.republished = 0  # rows sent again to a new incarnation since this process started
        self._sessions = sessions
        self._service = service
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds  # the safety poll: commits in this process wake the relay at once
        self._retention = retention
        self._alarm = Alarm()
        self._contended = False  # the last pass found another replica's relay holding the lock
        self._task: asyncio.Task | None = None

    def notify(self) -> None:
        """Tell the relay new rows were committed, so it need not wait for the next poll."""
        self._alarm.ring()

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
            self._alarm.clear()  # before the pass: a commit during it wakes the next sleep at once
            try:
                done = sum(await self.relay_batch())
                if datetime.now(UTC) - last_purge > timedelta(hours=1):
                    await self.purge_published()
                    last_purge = datetime.now(UTC)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying after a pause")
                done = 0
                await asyncio.sleep(1)
            if done < self._batch_size:
                await self._alarm.sleep(self._next_look())

    def _next_look(self) -> float:
        """Seconds until the relay looks again unless a commit wakes it. Soon while another replica's relay
        holds the lock: that one may have selected before this replica's rows committed, and nothing else
        would wake this one for them. Else at the next broker-identity check, or at the safety poll."""
        if self._contended:
            return CONTENDED_RETRY_SECONDS
        if self._identity is None:
            return self._poll_seconds
        check_due = self._last_check + self._idle_check_seconds - asyncio.get_running_loop().time()
        return min(self._poll_seconds, check_due)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; return how many were published."""
        return (await self.relay_batch()).published

    async def relay_batch(self) -> RelayPass:
        """Publish one batch of pending rows in id order, parking those the broker refuses for good."""
        async with self._sessions() as session, session.begin():
            self._contended = not await sole_worker(session, f"outbox:{self._service}")
            if self._contended:
                return RelayPass(0, 0)
            rows, held = await self._pending(session)
            epoch = None
            if rows or self._identity_check_due():
                epoch = await self._current_epoch()
                if epoch != self._epoch:
                    await self._new_incarnation(session, epoch)
                    rows, held = await self._pending(session)
            if not rows:
                return RelayPass(0, 0)
            batch = await self._send_in_order(rows, held)
            sent = batch.published()
            if sent and epoch is not None and await self._current_epoch() != epoch:
                log.warning("the broker changed while %d outbox rows were in flight; they stay pending and go again", len(sent))
                sent = []
            if sent:
                await session.execute(
                    update(OutboxMessage).where(col(OutboxMessage.id).in_([row.id for row in sent]))
                    .values(published_at=datetime.now(UTC), broker_epoch=epoch)
                )
            self._park(batch.parked)
            return RelayPass(len(sent), len(batch.parked))

    async def _pending(self, session: AsyncSession) -> tuple[list[OutboxMessage], dict[tuple[str, str], int]]:
        """The next rows to send in id order, and the first parked row of each (topic, key) among them, which later
        rows of that key wait behind: one statement (the parked rows' partial index answers each lookup)."""
        parked = aliased(OutboxMessage)
        first_parked = (select(func.min(parked.id))
                        .where(col(parked.parked_at).is_not(None), parked.topic == OutboxMessage.topic, parked.key == OutboxMessage.key)
                        .correlate(OutboxMessage).scalar_subquery())
        found = (await session.execute(
            select(OutboxMessage, first_parked).where(col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None))
            .order_by(col(OutboxMessage.id)).limit(self._batch_size)
        )).all()
        held = {(row.topic, row.key): behind for row, behind in found if behind is not None}
        return [row for row, _ in found], held

    def _identity_check_due(self) -> bool:
        return self._identity is not None and asyncio.get_running_loop().time() - self._last_check >= self._idle_check_seconds

    async def _current_epoch(self) -> str | None:
        if self._identity is None:
            return None
        epoch = await self._identity.cluster_id()
        self._last_check = asyncio.get_running_loop().time()
        return epoch

    async def _new_incarnation(self, session: AsyncSession, epoch: str | None) -> None:
        """Put back in line every row an earlier incarnation acknowledged: it may have died before every
        consumer read them. Before that, make sure the catalog's topics exist with their partition counts."""
        if self._bootstrap:
            try:
                created = await create_topics(self._bootstrap)
            except Exception as error:  # e.g. a cluster whose ACLs leave topics to its operator: nothing to do here
                log.info("could not check the catalog's topics on the broker (%s: %s)", type(error).__name__, error)
            else:
                if created:
                    log.warning("the broker had no topics %s; created them", ", ".join(created))
        requeued = await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.published_at).is_not(None), col(OutboxMessage.broker_epoch).is_not(None),
                   col(OutboxMessage.broker_epoch) != epoch)
            .values(published_at=None, broker_epoch=None)
        )
        if requeued.rowcount:
            self.republished += requeued.rowcount
            log.warning("broker incarnation %s replaces an earlier one: %d outbox rows published to it go again, in order",
                        epoch, requeued.rowcount)
        self._epoch = epoch

    async def _send_in_order(self, rows: list[OutboxMessage], held: dict[tuple[str, str], int]) -> _Batch:
        """Send rows in id order. A row refused for good is parked and its key held; any other failure
        stops the batch there, so later rows (possibly of the same case) are not published before it."""
        batch = _Batch(held)
        in_flight: list[tuple[OutboxMessage, asyncio.Future]] = []
        for row in rows:
            if (behind := batch.held_behind(row)) is not None:
                batch.hold(row, behind)
                continue
            try:
                in_flight.append((row, await self._send(row)))
            except Exception as error:
                if not refused_for_good(error):
                    batch.fail(row, error)
                    break
                batch.refuse(row, error)
        results = await asyncio.gather(*(future for _, future in in_flight), return_exceptions=True)
        for (row, _), result in zip(in_flight, results):
            if not isinstance(result, BaseException):
                batch.acknowledged.append(row)
                if (behind := batch.held_behind(row)) is not None:
                    log.warning("outbox row %s to %s (key %s) was in flight when the broker refused row %s of the same key; "
                                "it was delivered ahead of that row", row.id, row.topic, row.key, behind)
            elif refused_for_good(result):
                batch.refuse(row, result)
            else:
                batch.fail(row, result)
        if batch.stop is not None:
            row, error = batch.stop
            log.error("outbox row %s to %s not published (%s: %s); it and later rows will be retried",
                      row.id, row.topic, type(error).__name__, error)
        return batch

    def _park(self, parked: list[tuple[OutboxMessage, str]]) -> None:
        now = datetime.now(UTC)
        for row, reason in parked:
            row.parked_at, row.last_error = now, reason
            log.error("outbox row %s to %s (key %s) parked: %s. Once the cause is fixed: hub outbox release --service %s --id %s",
                      row.id, row.topic, row.key, reason, self._service, row.id)

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

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            return (await session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None)))).one()

    async def parked_count(self) -> int:
        async with self._sessions() as session:
            return await count_parked(session)

