"""Replaying dead letters: each record goes back to its origin topic with its original key and headers.

Consumers that had already applied it drop it by event id (inbox), so a replay is safe to repeat; the
replaying group's offsets move on only after the records are re-published.
"""

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from hub_shared.topics import DLQ

DLQ_HEADER_PREFIX = "hub_dlq_"


async def replay(bootstrap: str, *, group: str = "hub-dlq-replay", only_group: str | None = None,
                 idle_ms: int = 2000, report: Callable[[str], None] = print) -> int:
    """Re-publish every dead letter not yet replayed by `group` (optionally only those from `only_group`)."""
    consumer = AIOKafkaConsumer(DLQ.name, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=300)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        while batches := await consumer.getmany(timeout_ms=idle_ms, max_records=500):
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    origin = headers.get(f"{DLQ_HEADER_PREFIX}origin_topic", b"").decode()
                    failed_in = headers.get(f"{DLQ_HEADER_PREFIX}consumer_group", b"").decode()
                    if not origin or (only_group and failed_in != only_group):
                        continue
                    original = [(k, v) for k, v in record.headers if not k.startswith(DLQ_HEADER_PREFIX)]
                    await producer.send_and_wait(origin, record.value, key=record.key, headers=original)
                    replayed += 1
                    report(f"replayed {origin} offset {headers.get(f'{DLQ_HEADER_PREFIX}origin_offset', b'?').decode()} "
                           f"(failed in {failed_in}: {headers.get(f'{DLQ_HEADER_PREFIX}error', b'').decode()[:120]})")
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed


def replay_sync(bootstrap: str, **options) -> int:
    return asyncio.run(replay(bootstrap, **options))
