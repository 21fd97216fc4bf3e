"""Replaying dead letters (`hub dlq replay`, and each service's ops API for its own groups' letters): each record
goes back to its origin topic with its original key and headers.

Consumers that had already applied it drop it by event id (inbox), so a replay is safe to repeat; the
replaying group's offsets move on only after the records are re-published. A letter whose body the DLQ
refused (`hub_dlq_body_omitted`) is replayed from the original record at its origin offset, while the
origin topic still retains it.
"""

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub_shared.deadletters import DeadLetter
from hub_shared.topics import BODY_OMITTED, DLQ, DLQ_HEADER_PREFIX

ORIGINAL_BYTES = 16 * 1024 * 1024  # a record the origin topic took but the DLQ did not may be larger than the default limit


async def replay(bootstrap: str, *, group: str = "hub-dlq-replay", only_group: str | None = None,
                 idle_ms: int = 2000, report: Callable[[str], None] = print) -> int:
    """Re-publish every dead letter not yet replayed by `group` (optionally only those from `only_group`), up to the
    DLQ's end as it was when the replay began: a letter that fails again while the consumers are running comes back
    to the DLQ, and is left for the next replay rather than sent round again and again."""
    ends = await _dlq_ends(bootstrap)
    consumer = AIOKafkaConsumer(DLQ.name, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=300)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=ORIGINAL_BYTES)
    replayed = 0
    try:
        await consumer.start()
        await producer.start()
        while batches := await consumer.getmany(timeout_ms=idle_ms, max_records=500):
            done: dict[TopicPartition, int] = {}
            for tp, records in batches.items():
                end = ends.get(tp.partition, 0)
                for record in records:
                    if record.offset >= end:  # written after the replay began: the next replay's
                        consumer.pause(tp)
                        break
                    done[tp] = record.offset + 1
                    failed_in = dict(record.headers).get(f"{DLQ_HEADER_PREFIX}consumer_group", b"").decode()
                    if only_group and failed_in != only_group:
                        continue
                    replayed += await send_back(bootstrap, producer, record.key, record.value, list(record.headers), report)
            if done:
                await consumer.commit(done)
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed


async def _dlq_ends(bootstrap: str) -> dict[int, int]:
    """Each DLQ partition's next offset, now."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        await reader.topics()
        partitions = [TopicPartition(DLQ.name, p) for p in sorted(reader.partitions_for_topic(DLQ.name) or ())]
        return {tp.partition: end for tp, end in (await reader.end_offsets(partitions)).items()} if partitions else {}
    finally:
        await reader.stop()


async def replay_letters(bootstrap: str, letters: Iterable[DeadLetter], report: Callable[[str], None] = print) -> list[DeadLetter]:
    """Re-publish these letters (found with `hub_shared.deadletters`), each as `replay` does; the replay group's
    offsets do not move, so a later `replay` sends them again, which consumers that applied them drop by event id.
    Returns the letters sent back (a body-less letter whose original is gone is not)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=ORIGINAL_BYTES)
    await producer.start()
    try:
        return [letter for letter in letters
                if await send_back(bootstrap, producer, letter.key, letter.body, list(letter.headers), report)]
    finally:
        await producer.stop()


async def send_back(bootstrap: str, producer: AIOKafkaProducer, key: bytes | None, value: bytes | None,
                    headers: list[tuple[str, bytes]], report: Callable[[str], None]) -> bool:
    """One dead letter back to its origin topic, with its key and its original headers; False when it cannot go."""
    named = dict(headers)
    origin = named.get(f"{DLQ_HEADER_PREFIX}origin_topic", b"").decode()
    if not origin:
        return False
    offset = named.get(f"{DLQ_HEADER_PREFIX}origin_offset", b"?").decode()
    original = [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
    if BODY_OMITTED in named:
        fetched = await _original(bootstrap, origin, named)
        if fetched is None:
            report(f"skipped {origin} offset {offset}: its body was too large for the DLQ and the origin topic no longer holds it")
            return False
        value, original = fetched.value, list(fetched.headers)
    await producer.send_and_wait(origin, value, key=key, headers=original)
    report(f"replayed {origin} offset {offset} (failed in {named.get(f'{DLQ_HEADER_PREFIX}consumer_group', b'').decode()}: "
           f"{named.get(f'{DLQ_HEADER_PREFIX}error', b'').decode()[:120]})")
    return True


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
