"""`python -m hub_reporting rebuild`: drop the read models and replay hub.cases.v1 and hub.feedback.v1 from
the beginning with a fresh consumer (no group: partitions assigned and read to the end offsets taken at
the start). Stop reporting's replicas first; start them again after. The inbox rows of reporting's groups are
rewritten by the replay, so when the service resumes at its committed offsets it skips what the replay applied."""

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import delete, update

from hub_reporting.models import (CaseFact, CaseHistoryEntry, CaseStatus, EmployeeRatingDay, EmployeeRatingMonth, FeedCounter,
                                  StatusChange, UnitRatingDay, UnitRatingMonth)
from hub_shared.consumer import BatchConsumer
from hub_shared.messaging import InboxEntry
from hub_shared.service import Runtime

log = logging.getLogger(__name__)
READ_MODELS = (CaseHistoryEntry, CaseStatus, CaseFact, StatusChange, UnitRatingDay, EmployeeRatingDay, UnitRatingMonth,
               EmployeeRatingMonth)


async def clear(runtime: Runtime) -> None:
    """Empty every read model and forget which events reporting's groups applied."""
    groups = [sub.group for sub in runtime.reporting_subscriptions]
    async with runtime.sessions() as session, session.begin():
        for model in READ_MODELS:
            await session.execute(delete(model))
        await session.execute(update(FeedCounter).values(last_seq=0))
        await session.execute(delete(InboxEntry).where(InboxEntry.consumer.in_(groups)))


async def replay(runtime: Runtime, batch: int = 500) -> int:
    """Apply every event now on the topics, partition by partition, through the service's own handlers."""
    applied = 0
    await runtime.broker.connect()  # its producer, for the DLQ as in the service; `start` would also run reporting's
    # group subscribers in this process, applying the newest facts while the replay is at the oldest
    try:
        for sub in runtime.reporting_subscriptions:
            consumer = AIOKafkaConsumer(bootstrap_servers=runtime.settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                        group_id=None)
            await consumer.start()
            try:
                partitions = [TopicPartition(sub.topic, p) for p in sorted(consumer.partitions_for_topic(sub.topic) or ())]
                if not partitions:
                    await consumer._client.force_metadata_update()
                    partitions = [TopicPartition(sub.topic, p) for p in sorted(consumer.partitions_for_topic(sub.topic) or ())]
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                ends = await consumer.end_offsets(partitions)
                handler = BatchConsumer(runtime.broker, runtime.settings, runtime.sessions, sub)
                for partition in partitions:
                    while await consumer.position(partition) < ends[partition]:
                        records = (await consumer.getmany(partition, timeout_ms=1000, max_records=batch)).get(partition, [])
                        records = [r for r in records if r.offset < ends[partition]]
                        await handler.process(records)
                        applied += len(records)
            finally:
                await consumer.stop()
    finally:
        await runtime.broker.stop()
    return applied


def rebuild(runtime: Runtime) -> None:
    runtime.migrate()

    async def run() -> None:
        await clear(runtime)
        count = await replay(runtime)
        log.info("rebuilt reporting's read models from %d events", count)
        print(f"rebuilt reporting's read models from {count} events")
        await runtime.engine.dispose()

    asyncio.run(run())
