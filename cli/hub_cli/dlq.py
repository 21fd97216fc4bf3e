"""Replaying dead letters: each record goes back to its origin topic with its original key and headers.

Consumers that had already applied it drop it by event id (inbox), so a replay is safe to repeat; the
replaying group's offsets move on only after the records are re-published. A letter whose body the DLQ
refused (`hub_dlq_body_omitted`) is replayed from the original record at its origin offset, while the
origin topic still retains it.
"""

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub_shared.topics import BODY_OMITTED, DLQ, DLQ_HEADER_PREFIX

ORIGINAL_BYTES = 16 * 1024 * 1024  # a record the origin topic took but the DLQ did not may be larger than the default limit


async def replay(bootstrap: str, *, group: str = "hub-dlq-replay", only_group: str | None = None,
                 idle_ms: int = 2000, report: Callable[[str], None] = print) -> int:
    """Re-publish every dead letter not yet replayed by `group` (optionally only those from `only_group`)."""
    consumer = AIOKafkaConsumer(DLQ.name, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=300)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=ORIGINAL_BYTES)
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
                    value = record.value
                    if BODY_OMITTED in headers:
                        fetched = await _original(bootstrap, origin, headers)
                        if fetched is None:
                            report(f"skipped {origin} offset {headers.get(f'{DLQ_HEADER_PREFIX}origin_offset', b'?').decode()}: "
                                   "its body was too large for the DLQ and the origin topic no longer holds it")
                            continue
                        value, original = fetched.value, list(fetched.headers)
                    await producer.send_and_wait(origin, value, key=record.key, headers=original)
                    replayed += 1
                    report(f"replayed {origin} offset {headers.get(f'{DLQ_HEADER_PREFIX}origin_offset', b'?').decode()} "
                           f"(failed in {failed_in}: {headers.get(f'{DLQ_HEADER_PREFIX}error', b'').decode()[:120]})")
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed


async def _original(bootstrap: str, topic: str, headers: dict[str, bytes]):
    """The record a body-less letter points at, read from its origin topic, or None when it is gone."""
    try:
        partition = TopicPartition(topic, int(headers[f"{DLQ_HEADER_PREFIX}origin_partition"]))
        offset = int(headers[f"{DLQ_HEADER_PREFIX}origin_offset"])
    except (KeyError, ValueError):
        return None
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_bytes=ORIGINAL_BYTES,
                              max_partition_fetch_bytes=ORIGINAL_BYTES)
    await reader.start()
    try:
        reader.assign([partition])
        reader.seek(partition, offset)
        batches = await reader.getmany(partition, timeout_ms=5000, max_records=1)
        found = [record for record in batches.get(partition, []) if record.offset == offset]
        return found[0] if found else None
    finally:
        await reader.stop()


def replay_sync(bootstrap: str, **options) -> int:
    return asyncio.run(replay(bootstrap, **options))
