"""Batch consumers with exactly-once effects, bounded retries and a dead-letter topic.

For each batch: malformed records go straight to `hub.dlq.v1`; the rest are applied in one
transaction (inbox claim + effect + outbox rows). If that transaction fails, each record is retried
on its own (tenacity, bounded), and one that still fails goes to the DLQ with the error, so the
partition moves on. Offsets are committed only after the batch's effects are durable; if the DLQ
itself cannot be reached the batch is not acknowledged and comes back.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential_jitter

from hub_shared.db import SessionFactory
from hub_shared.envelope import Envelope, MalformedMessage, from_kafka
from hub_shared.events import registry
from hub_shared.logs import case_context
from hub_shared.messaging import processed_ids, record_processed
from hub_shared.settings import HubSettings
from hub_shared.topics import DLQ

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


@dataclass
class Subscription:
    """What one consumer group does with the events of one topic; event types it does not handle are skipped."""

    topic: str
    group: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    after_commit: Callable[[], None] = lambda: None

    @property
    def ignored_types(self) -> frozenset[str]:
        """Registered event types this subscription does not handle; anything else unknown is malformed."""
        return frozenset(model.event_type for model in registry.all()) - self.handlers.keys()


def subscribe(broker: KafkaBroker, settings: HubSettings, sessions: SessionFactory, sub: Subscription) -> None:
    consumer = BatchConsumer(broker, settings, sessions, sub)

    @broker.subscriber(
        sub.topic,
        group_id=sub.group,
        batch=True,
        max_records=settings.consumer_batch_size,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title=f"{sub.group}:{sub.topic}",
        parser=_tolerant_parser,
        decoder=_skip_decoding,
        **settings.consumer_timeouts(),
    )
    async def on_batch(body: Any, message: KafkaMessage) -> None:
        await consumer.process(list(message.raw_message))


def _event_type(record: ConsumerRecord) -> str | None:
    for name, value in record.headers or ():
        if name == "ce_type":
            return value.decode(errors="replace")
    return None


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


def is_transient(error: BaseException) -> bool:
    """Failures of the infrastructure (database or network down, locked, timed out): retry later, never dead-letter."""
    return isinstance(error, (OperationalError, InterfaceError, SATimeoutError, ConnectionError, TimeoutError, OSError)) or bool(
        getattr(error, "connection_invalidated", False))


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
        try:
            async with self._sessions() as session, session.begin():
                await self._apply(session, [envelope for _, envelope in parsed])
        except Exception as exc:
            if is_transient(exc):
                await self._back_off(exc)
            log.warning("batch of %d failed; retrying one by one", len(parsed), exc_info=True)
            for record, envelope in parsed:
                await self._apply_alone(record, envelope)
        self._sub.after_commit()

    def _parse(self, record: ConsumerRecord) -> Envelope:
        headers = {name: value for name, value in record.headers or ()}
        return from_kafka(record.key, record.value, headers, self._settings.max_message_bytes)

    async def _apply(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        """Apply each envelope not seen before, recording it in the inbox in the same transaction."""
        seen = await processed_ids(session, self._sub.group, [envelope.id for envelope in envelopes])
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
                record_processed(session, self._sub.group, envelope)
                await self._sub.handlers[envelope.type](session, envelope)

    async def _apply_alone(self, record: ConsumerRecord, envelope: Envelope) -> None:
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
        except Exception as exc:
            if is_transient(exc):
                await self._back_off(exc)
            await self._dead_letter(record, exc, attempts=self._settings.consumer_retries)

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
        await self._broker.publish(record.value or b"", DLQ.name, key=record.key, headers=headers)
