"""`hub dlq-replay` puts dead letters back on their origin topic, as they were."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from sqlmodel import select

from hub_shared.dlq_replay import replay
from hub_routing.app import create_runtime
from hub_shared.envelope import wrap
from hub_shared.events import CaseRejected
from hub_shared.messaging import OutboxMessage
from hub_shared.topics import CASES, DLQ
from tests.integration.test_messaging import consuming, header, read_topic, rejected, send, settings_for, stage_effect

pytestmark = pytest.mark.broker


async def test_dead_letters_go_back_to_their_origin_without_dlq_headers(kafka_bootstrap) -> None:
    key = str(uuid.uuid4()).encode()
    original = [("ce_id", b"abc"), ("ce_type", b"ir.hub.case.registered.v1"), ("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(DLQ.name, b'{"x": 1}', key=key, headers=original + [
            ("hub_dlq_origin_topic", CASES.name.encode()), ("hub_dlq_consumer_group", b"routing"),
            ("hub_dlq_error", b"OperationalError: database was down"), ("hub_dlq_origin_offset", b"7")])
    finally:
        await producer.stop()
    group = f"replay-{uuid.uuid4().hex[:6]}"
    assert await replay(kafka_bootstrap, group=group, only_group="routing", report=lambda _: None) >= 1
    assert await replay(kafka_bootstrap, group=group, report=lambda _: None) == 0, "a replayed letter is not replayed twice"
    [back] = await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key == key, 1)
    assert back.value == b'{"x": 1}' and header(back, "ce_id") == "abc" and header(back, "traceparent")
    assert not any(name.startswith("hub_dlq_") for name, _ in back.headers)


async def test_a_letter_too_large_for_the_dlq_does_not_block_its_partition_and_replays_from_its_origin(kafka_bootstrap, tmp_path) -> None:
    """An agency's producer allows bigger records than the hub's: the body cannot be dead-lettered as it is."""
    runtime = create_runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path}/routing.db", kafka_bootstrap, tmp_path))
    runtime.migrate()
    following = rejected(uuid.uuid4().hex[:11])  # the same case, so the same partition, right behind the huge record
    huge_case = str(following.case_id).encode()
    huge = b'{"padding": "' + b"x" * 1_200_000 + b'"}'

    async def effect(session, envelope) -> None:
        stage_effect(runtime, session, envelope.data)

    async with consuming(runtime, effect) as (group, producer):
        agency = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=5_000_000)
        await agency.start()
        try:
            await agency.send_and_wait(CASES.name, huge, key=huge_case, headers=[("ce_type", CaseRejected.event_type.encode())])
        finally:
            await agency.stop()
        await send(producer, wrap(following, "/test"))
        for _ in range(200):
            async with runtime.sessions() as session:
                keys = set((await session.exec(select(OutboxMessage.key).where(OutboxMessage.topic == CASES.name))).all())
            if str(following.case_id) in keys:
                break
            await asyncio.sleep(0.1)
        assert str(following.case_id) in keys, "the partition moved on past the record the DLQ could not take"
        [letter] = await read_topic(kafka_bootstrap, DLQ.name, lambda r: r.key == huge_case, 1)
    assert letter.value == b"" and "1200015 bytes" in header(letter, "hub_dlq_body_omitted")
    assert header(letter, "hub_dlq_consumer_group") == group and "larger than" in header(letter, "hub_dlq_error")

    reports: list[str] = []
    assert await replay(kafka_bootstrap, group=f"replay-{uuid.uuid4().hex[:6]}", only_group=group, report=reports.append) == 1
    copies = await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key == huge_case, 3,
                              max_partition_fetch_bytes=8_000_000, fetch_max_bytes=8_000_000)
    assert [len(record.value) for record in copies if len(record.value) > 1_000_000] == [len(huge), len(huge)], \
        "the original, and its replay from the origin offset"



async def test_a_replay_sends_each_letter_once_even_when_it_fails_again_and_comes_back(kafka_bootstrap, tmp_path) -> None:
    """The consumer still fails on the replayed event and dead-letters it again while the replay runs: the replay
    ends at the DLQ's end as it found it, and the new letter waits for the next replay instead of going round."""
    runtime = create_runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path}/routing.db", kafka_bootstrap, tmp_path))
    runtime.migrate()
    poison = rejected(uuid.uuid4().hex[:11])
    key = str(poison.case_id).encode()

    async def effect(session, envelope) -> None:
        if envelope.data.case_id == poison.case_id:
            raise RuntimeError("still broken")
        stage_effect(runtime, session, envelope.data)

    async with consuming(runtime, effect) as (group, producer):
        await send(producer, wrap(poison, "/test"))
        await read_topic(kafka_bootstrap, DLQ.name, lambda r: r.key == key, 1)
        replayer = f"replay-{uuid.uuid4().hex[:6]}"  # the group also dead-letters other tests' bad records: count ours only
        sent: list[str] = []
        await replay(kafka_bootstrap, group=replayer, only_group=group, idle_ms=5000, report=sent.append)
        assert len(await read_topic(kafka_bootstrap, DLQ.name, lambda r: r.key == key, 2)) == 2, "it failed again"
        copies = await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key == key, 3, timeout=3)
        assert len(copies) == 2, "the original and one replay, not a round after round"
        await replay(kafka_bootstrap, group=replayer, only_group=group, idle_ms=5000, report=sent.append)
        assert len(await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key == key, 4, timeout=3)) == 3, "the new letter, once"
