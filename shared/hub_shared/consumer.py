"""Batch consumers with exactly-once effects, bounded retries and a dead-letter topic.

For each batch: malformed records go straight to `hub.dlq.v1`; the rest are applied in one
transaction (inbox claim + effect + outbox rows). If that transaction fails, each record is retried
on its own (tenacity, bounded), and one that still fails goes to the DLQ with the error, so the
partition moves on. Offsets are committed only after the batch's effects are durable; if the DLQ
itself cannot be reached the batch is not acknowledged and comes back.

Order per case survives a dead letter: once an event of a case (the record key) fails for good, the
group holds that case (`consumer_hold`), and its later events follow the failed one into the DLQ
instead of being applied ahead of it. When the failed event comes back (`hub dlq-replay`, after the
fix) and is applied, the hold is lifted, and the replayed events behind it apply in their order.
Other cases are never held up.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, literal_column, union_all
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential_jitter

from hub_shared.bus import BrokerIdentity, IncarnationGuard
from hub_shared.db import SessionFactory
from hub_shared.envelope import Envelope, MalformedMessage, from_kafka
from hub_shared.events import registry
from hub_shared.logs import case_context
from hub_shared.messaging import InboxEntry, inbox_row, processed_ids, record_processed
from hub_shared.outbox import refused_for_good
from hub_shared.settings import HubSettings
from hub_shared.topics import BODY_OMITTED, DLQ

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]


class HeldCase(SQLModel, table=True):
    """A case whose events this consumer group holds back, because `first_event_id` was dead-lettered."""

    __tablename__ = "consumer_hold"

    consumer: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    first_event_id: str = Field(max_length=64)
    held_since: datetime
    reason: str = Field(max_length=500)


class HeldBack(Exception):
    """An event not applied because an earlier event of its case is in the DLQ."""

    def __init__(self, first_event_id: str) -> None:
        super().__init__(f"held behind event {first_event_id} of the same case, which is in the dead-letter topic; "
                         f"replay that one first")
        self.first_event_id = first_event_id


@dataclass
class Subscription:
    """What one consumer group does with the events of one topic; event types it does not handle are skipped."""

    topic: str
    group: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    # event types whose effects add up in any order (counts and sums) or stand alone (new registrations): each
    # batch's new ones go to one call, after the others, so a batch of 200 ratings is a few upserts instead of 800
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    # Once per batch, around its handlers: `prepare` loads what the batch's handlers will read (one query per table
    # instead of one per event; see `preload`) and `finish` writes what they gathered. Handlers that then read only
    # what was loaded make the session flush once, at commit: a few statements for the whole batch.
    prepare: BatchHandler | None = None
    finish: Callable[[AsyncSession], Awaitable[None]] | None = None
    hold_cases: bool = True  # False where order within a key does not matter (ratings keyed by unit): nothing is held
    # False where nobody waits on the group's effects within a second (read models, timers, mirrors to other systems):
    # while records flow it gathers fuller batches, with fewer fetches, than a group on a citizen's or a sender's path
    # (`HubSettings.consumer_linger_seconds`, `busy_fetch_wait_ms`)
    prompt: bool = True

    @property
    def ignored_types(self) -> frozenset[str]:
        """Registered event types this subscription does not handle; anything else unknown is malformed."""
        return frozenset(model.event_type for model in registry.all()) - self.handlers.keys() - self.batch_handlers.keys()


def subscribe(broker: KafkaBroker, settings: HubSettings, sessions: SessionFactory, sub: Subscription,
              identity: BrokerIdentity) -> None:
    """`sub` as a batch subscriber of `broker`, guarded against broker incarnations (`IncarnationGuard`) by the
    process's shared `identity`, which `BusConnection` asks before the consumers join."""
    timeouts = settings.consumer_timeouts()
    guard = IncarnationGuard(identity)
    subscriber = broker.subscriber(
        sub.topic,
        group_id=sub.group,
        batch=True,
        max_records=settings.consumer_batch_size,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{sub.group}:{sub.topic}",
        parser=_tolerant_parser,
        decoder=_skip_decoding,
        listener=guard,
        **{**timeouts, "fetch_max_wait_ms": settings.idle_fetch_wait_ms()},  # quiet until records come
    )
    subscriber.get_msg = _records_of(settings.consumer_batch_size, settings.consumer_linger_seconds(sub.prompt))
    pace = FetchPace(subscriber, busy_ms=settings.busy_fetch_wait_ms(sub.prompt), idle_ms=settings.idle_fetch_wait_ms())
    consumer = BatchConsumer(broker, settings, sessions, sub)

    @subscriber
    async def on_batch(body: Any, message: KafkaMessage) -> None:
        pace.records_arrived()
        records = list(message.raw_message)
        if await guard.rewound(message.consumer, records):  # read at another broker incarnation's offsets:
            await guard.commit(message, rewound=True)  # it comes again from the beginning
            return
        await consumer.process(records)
        rewound = await guard.rewound(message.consumer, records)  # a broker that changed meanwhile gets no old offsets
        await guard.commit(message, rewound)


RECORDS_WAIT_MS = 60_000


def _records_of(max_records: int, linger_seconds: float = 0.0) -> Callable[[AIOKafkaConsumer], Awaitable[tuple[ConsumerRecord, ...]]]:
    """What FastStream's batch loop calls for the next batch (`get_msg`, set on the subscriber). FastStream's own
    waits 200 ms for records and, when none came, sleeps 200 ms more: five wake-ups a second per idle consumer,
    and a record arriving during the sleep waits for its end. This one waits until a fetch brings records
    (aiokafka hands them over at once) or a minute passes; an empty batch makes the loop ask again, and a
    stopped consumer raises, which ends the loop.

    A partial batch waits `linger_seconds` for the records that follow it (aiokafka keeps fetching meanwhile), so a
    consumer keeping up with a steady flow applies a few full batches instead of many of one or two records: each
    batch costs a transaction, its inbox and hold reads, and an outbox relay pass, whatever its size. Records of one
    partition stay in offset order: the later ones come after the first ones in the batch."""

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord, ...]:
        batches = await consumer.getmany(timeout_ms=RECORDS_WAIT_MS, max_records=max_records)
        records = list(chain.from_iterable(batches.values()))
        if records and linger_seconds and len(records) < max_records:
            await asyncio.sleep(linger_seconds)
            more = await consumer.getmany(timeout_ms=0, max_records=max_records - len(records))
            records += chain.from_iterable(more.values())
        return tuple(records)

    return get_msg


class FetchPace:
    """Short waits for records while they flow, long ones once the topic has been quiet for `quiet_seconds`.

    A consumer always has a fetch waiting at the broker. The embedded broker does not answer it when a record
    arrives but when it looks again (`HubSettings.idle_fetch_wait_ms`), so the wait bounds how long a record
    sits there: short waits keep latency low under load, and cost an idle hub a fetch per consumer every
    50 ms. The wait is aiokafka's `fetch_max_wait_ms`, read for each new fetch from its fetcher (no public
    setter); records switch it before the next fetch is built, a timer switches it back."""

    def __init__(self, subscriber: Any, busy_ms: int, idle_ms: int, quiet_seconds: float = 10.0) -> None:
        self._subscriber = subscriber
        self._busy_ms, self._idle_ms = busy_ms, idle_ms
        self._quiet = quiet_seconds
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def records_arrived(self) -> None:
        if self._busy_ms == self._idle_ms:
            return
        loop = asyncio.get_running_loop()
        self._last = loop.time()
        self._wait(self._busy_ms)
        if self._timer is None:
            self._timer = loop.call_later(self._quiet, self._quiet_yet)

    def _quiet_yet(self) -> None:
        loop = asyncio.get_running_loop()
        left = self._last + self._quiet - loop.time()
        self._timer = loop.call_later(left, self._quiet_yet) if left > 0 else None
        if self._timer is None:
            self._wait(self._idle_ms)

    @property
    def wait_ms(self) -> int | None:
        """The wait of the next fetch; None before the consumer has started."""
        return getattr(self._fetcher(), "_fetch_max_wait_ms", None)

    def _wait(self, ms: int) -> None:
        if (fetcher := self._fetcher()) is not None:
            fetcher._fetch_max_wait_ms = ms

    def _fetcher(self) -> Any:
        return getattr(getattr(self._subscriber, "consumer", None), "_fetcher", None)


def _event_type(record: ConsumerRecord) -> str | None:
    for name, value in record.headers or ():
        if name == "ce_type":
            return value.decode(errors="replace")
    return None


def _key(record: ConsumerRecord) -> str | None:
    """The case a record belongs to: every hub event is keyed by its case (or unit) id."""
    return record.key.decode(errors="replace")[:128] if record.key else None


async def _tolerant_parser(records: tuple[ConsumerRecord, ...], original: Callable) -> Any:
    """FastStream decodes every header as UTF-8 before a handler runs; one bad or null header value
    would fail the whole batch before it could be dead-lettered. Parse sanitised copies and keep the
    original records for our own parsing and the DLQ."""
    safe = tuple(
        dataclasses.replace(record, headers=tuple((name, (value or b"").decode(errors="replace").encode()) for name, value in record.headers or ()))
        for record in records
    )
    message = await original(safe)
    message.raw_message = records
    return message


# PostgreSQL's error classes that pass with time (SQLSTATE's first two characters): connection exception, transaction
# rollback (serialization failure, deadlock), insufficient resources, operator intervention (shutdown, statement
# cancelled, cannot connect now), system error. psycopg reports them as OperationalError, asyncpg as a plain DBAPIError.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
LOCK_NOT_AVAILABLE = "55P03"


def is_transient(error: BaseException) -> bool:
    """Failures of the infrastructure (database or network down, locked, timed out): retry later, never dead-letter."""
    if isinstance(error, (OperationalError, InterfaceError, SATimeoutError, ConnectionError, TimeoutError, OSError)):
        return True
    sqlstate = str(getattr(getattr(error, "orig", None), "sqlstate", None) or "")
    return (bool(getattr(error, "connection_invalidated", False)) or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
            or sqlstate == LOCK_NOT_AVAILABLE)


async def _skip_decoding(_message: Any) -> None:
    """Records are parsed and validated by `from_kafka`, so FastStream's JSON decoding is skipped."""
    return None


class BatchConsumer:
    def __init__(self, broker: KafkaBroker, settings: HubSettings, sessions: SessionFactory, sub: Subscription) -> None:
        self._broker = broker
        self._settings = settings
        self._sessions = sessions
        self._sub = sub
        self._ignored = sub.ignored_types

    async def process(self, records: list[ConsumerRecord]) -> None:
        parsed: list[tuple[ConsumerRecord, Envelope]] = []
        for record in records:
            if _event_type(record) in self._ignored:
                continue  # a valid fact this group has no use for: not parsed, not recorded
            try:
                parsed.append((record, self._parse(record)))
            except MalformedMessage as exc:
                await self._dead_letter(record, exc, attempts=1)
        if not parsed:
            return
        with self._batch_span([envelope for _, envelope in parsed]):
            await self._apply_parsed(parsed)

    def _batch_span(self, envelopes: list[Envelope]):
        """The batch's own database work (holds and inbox, the loads of `prepare`, the writes at commit) is done once
        for all its events, so it is traced once: under the trace of its first event whose trace is kept, linked to
        the others'. Events that carry no trace (anonymous ratings) get no batch span either."""
        traced = [envelope.traceparent for envelope in envelopes if envelope.traceparent]
        if not traced:
            return nullcontext()
        contexts = [propagate.extract({"traceparent": traceparent}) for traceparent in traced]
        # under a kept trace if the batch has one (`hub_shared.telemetry.TracesPerSecond`)
        contexts.sort(key=lambda context: not trace.get_current_span(context).get_span_context().trace_flags.sampled)
        links = [trace.Link(trace.get_current_span(context).get_span_context()) for context in contexts[1:]]
        return tracer.start_as_current_span(f"{self._sub.topic} apply", context=contexts[0], links=links,
                                            attributes={"messaging.batch.message_count": len(envelopes),
                                                        "messaging.consumer.group.name": self._sub.group})

    async def _apply_parsed(self, parsed: list[tuple[ConsumerRecord, Envelope]]) -> None:
        failure: Exception | None = None
        async with self._sessions() as session:  # one transaction: the holds are read in it, then the batch applied
            holds, seen = await self._holds_and_seen(session, {key for record, _ in parsed if (key := _key(record))},
                                                     [envelope.id for _, envelope in parsed])
            ready, releasing = [], set()
            for record, envelope in parsed:
                key = _key(record)
                if key in holds and key not in releasing:
                    if holds[key] != envelope.id:
                        await self._dead_letter(record, HeldBack(holds[key]), attempts=0)
                        continue
                    releasing.add(key)  # the event the case is held behind is back: it and the case's next events apply
                ready.append((record, envelope))
            if not ready:
                return
            try:
                await self._apply(session, [envelope for _, envelope in ready], seen)
                await self._release(session, sorted(releasing))
                await session.commit()
            except Exception as exc:
                failure = exc
        if failure is not None:  # the failed transaction is rolled back and its connection returned by now
            if is_transient(failure):
                await self._back_off(failure)
            log.warning("batch of %d failed; retrying one by one", len(ready), exc_info=failure)
            for record, envelope in ready:
                key = _key(record)
                if key in holds and holds[key] != envelope.id:  # an earlier event of the case failed in this very batch
                    await self._dead_letter(record, HeldBack(holds[key]), attempts=0)
                    continue
                failed = await self._apply_alone(record, envelope, releases=key in holds)
                if failed is None:
                    holds.pop(key, None)
                elif key is not None and self._sub.hold_cases:
                    holds.setdefault(key, envelope.id)
                    await self._hold(key, holds[key], failed)

    async def _holds_and_seen(self, session: AsyncSession, keys: set[str], event_ids: list[str]) -> tuple[dict[str, str], set[str]]:
        """The held cases among `keys`, with the event each is held behind, and which of `event_ids` this group already
        applied: one query a batch for both."""
        if not keys or not self._sub.hold_cases:
            return {}, await processed_ids(session, self._sub.group, event_ids)
        held = select(literal_column("'held'"), HeldCase.key, HeldCase.first_event_id).where(
            HeldCase.consumer == self._sub.group, col(HeldCase.key).in_(keys))
        applied = select(literal_column("'applied'"), InboxEntry.event_id, InboxEntry.event_id).where(
            InboxEntry.consumer == self._sub.group, col(InboxEntry.event_id).in_(event_ids))
        holds, seen = {}, set()
        for kind, name, first_event_id in (await session.execute(union_all(held, applied))).all():
            if kind == "held":
                holds[name] = first_event_id
            else:
                seen.add(name)
        return holds, seen

    async def _hold(self, key: str, first_event_id: str, error: Exception) -> None:
        async with self._sessions() as session, session.begin():
            if await session.get(HeldCase, (self._sub.group, key)) is None:
                session.add(HeldCase(consumer=self._sub.group, key=key, first_event_id=first_event_id, held_since=datetime.now(UTC),
                                     reason=f"{type(error).__name__}: {error}"[:500]))
                log.warning("case %s held for %s behind event %s until it is replayed", key, self._sub.group, first_event_id)

    async def _release(self, session: AsyncSession, keys: list[str]) -> None:
        """The event a case was held behind came back and applied: its later events may follow."""
        if keys:
            await session.execute(delete(HeldCase).where(col(HeldCase.consumer) == self._sub.group, col(HeldCase.key).in_(keys)))
            log.info("case(s) %s released for %s: the event they were held behind applied", ", ".join(keys), self._sub.group)

    def _parse(self, record: ConsumerRecord) -> Envelope:
        headers = {name: value for name, value in record.headers or ()}
        return from_kafka(record.key, record.value, headers, self._settings.max_message_bytes)

    async def _apply(self, session: AsyncSession, envelopes: list[Envelope], seen: set[str] | None = None) -> None:
        """Apply each envelope not seen before (`seen`: the ones this group applied, if the caller read them in this
        transaction), recording it in the inbox in the same transaction."""
        seen = set(seen) if seen is not None else await processed_ids(session, self._sub.group, [envelope.id for envelope in envelopes])
        if self._sub.prepare is not None:
            await self._sub.prepare(session, [envelope for envelope in envelopes if envelope.id not in seen])
        together: dict[str, list[Envelope]] = {}
        claimed: list[dict] = []
        for envelope in envelopes:
            parent = propagate.extract({"traceparent": envelope.traceparent} if envelope.traceparent else {})
            with case_context(envelope.subject), tracer.start_as_current_span(
                f"{self._sub.topic} process", context=parent, kind=SpanKind.CONSUMER
            ) as span:
                span.set_attribute("messaging.system", "kafka")
                span.set_attribute("messaging.consumer.group.name", self._sub.group)
                span.set_attribute("messaging.message.id", envelope.id)
                span.set_attribute("cloudevents.event_type", envelope.type)
                if envelope.id in seen:
                    log.info("duplicate delivery of %s %s skipped", envelope.type, envelope.id)
                    span.set_attribute("hub.duplicate", True)
                    continue
                seen.add(envelope.id)
                claimed.append(inbox_row(self._sub.group, envelope))
                if envelope.type in self._sub.batch_handlers:
                    together.setdefault(envelope.type, []).append(envelope)
                else:
                    await self._sub.handlers[envelope.type](session, envelope)
        for event_type, batch in together.items():
            await self._sub.batch_handlers[event_type](session, batch)
        if self._sub.finish is not None:
            await self._sub.finish(session)
        await record_processed(session, claimed)

    async def _apply_alone(self, record: ConsumerRecord, envelope: Envelope, releases: bool = False) -> Exception | None:
        """Apply one record with bounded retries; dead-letter it if it keeps failing and return the failure."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.consumer_retries),
            wait=wait_exponential_jitter(initial=0.05, max=2),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with self._sessions() as session, session.begin():
                        await self._apply(session, [envelope])
                        if releases:
                            await self._release(session, [_key(record)])
        except Exception as exc:
            if is_transient(exc):
                await self._back_off(exc)
            await self._dead_letter(record, exc, attempts=self._settings.consumer_retries)
            return exc
        return None

    async def _back_off(self, error: Exception) -> None:
        """Leave the batch unacknowledged: it is fetched again once the infrastructure is back."""
        log.warning("infrastructure failure, batch will be redelivered: %s", type(error).__name__)
        await asyncio.sleep(1)
        raise error

    async def _dead_letter(self, record: ConsumerRecord, error: Exception, attempts: int) -> None:
        log.error("message %s/%d@%d sent to %s: %s", record.topic, record.partition, record.offset, DLQ.name, error)
        headers = {name: (value or b"").decode(errors="replace") for name, value in record.headers or ()}
        headers.update({
            "hub_dlq_origin_topic": record.topic,
            "hub_dlq_origin_partition": str(record.partition),
            "hub_dlq_origin_offset": str(record.offset),
            "hub_dlq_consumer_group": self._sub.group,
            "hub_dlq_error": f"{type(error).__name__}: {error}"[:2000],
            "hub_dlq_attempts": str(attempts),
        })
        if isinstance(error, HeldBack):
            headers["hub_dlq_held_behind"] = error.first_event_id
        try:
            await self._broker.publish(record.value or b"", DLQ.name, key=record.key, headers=headers)
        except Exception as refusal:
            if not refused_for_good(refusal):
                raise  # the DLQ is unreachable for now: the batch is not acknowledged and comes back
            # The letter as it is can never be written (a body larger than the DLQ takes): write it without the
            # body, pointing at the original, which `hub dlq-replay` fetches from its origin offset. The
            # partition moves on instead of failing on this record forever.
            log.error("message %s/%d@%d: the DLQ refused its body (%s); dead-lettered without it", record.topic,
                      record.partition, record.offset, type(refusal).__name__)
            slim = {name: value for name, value in headers.items() if name.startswith(("hub_dlq_", "ce_"))}
            slim[BODY_OMITTED] = f"{type(refusal).__name__}: {len(record.value or b'')} bytes; the original stays at its origin offset"
            await self._broker.publish(b"", DLQ.name, key=record.key, headers=slim)


async def preload(session: AsyncSession, name: str, model: type[SQLModel], column: Any, keys: set) -> None:
    """Load the rows of `model` whose `column` is one of `keys` in one query, for the batch's handlers to find with
    `preloaded(session, name)`: a dict from key to row, which they keep up to date with rows they add."""
    rows = (await session.exec(select(model).where(col(column).in_(keys)))).all() if keys else []
    session.info[name] = {getattr(row, column.key): row for row in rows}


def preloaded(session: AsyncSession, name: str) -> dict | None:
    """The rows `preload` loaded under `name` for this session's batch; None outside a consumer's batch."""
    return session.info.get(name)


async def held_cases(session: AsyncSession, group: str | None = None) -> list[HeldCase]:
    """Cases held back, oldest first (`hub holds list`)."""
    query = select(HeldCase).order_by(col(HeldCase.held_since))
    if group:
        query = query.where(HeldCase.consumer == group)
    return list((await session.exec(query)).all())


async def release_holds(session: AsyncSession, group: str, keys: list[str] | None) -> list[str]:
    """Let held cases go without the event they wait for (it can never apply): the group applies their next
    events as they come. The dead-lettered ones stay in the DLQ. Returns the keys released."""
    query = select(HeldCase.key).where(HeldCase.consumer == group)
    if keys is not None:
        query = query.where(col(HeldCase.key).in_(keys))
    released = sorted((await session.exec(query)).all())
    if released:
        await session.execute(delete(HeldCase).where(col(HeldCase.consumer) == group, col(HeldCase.key).in_(released)))
    return released
