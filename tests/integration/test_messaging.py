"""The outbox, inbox and dead-letter path against a real broker, on SQLite and on PostgreSQL.

One suite, run for each database backend: the same assertions prove both adapters.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlmodel import col, func, select

from hub_routing.app import create_runtime
from hub_shared.consumer import Subscription
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import CaseRejected, DeadlineScheduled
from hub_shared.messaging import OutboxMessage
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.topics import CASES, DLQ

pytestmark = pytest.mark.broker


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/messaging.db"
    request.getfixturevalue("postgres_admin_url")
    return request.getfixturevalue("postgres_database")


def settings_for(url: str, bootstrap: str, tmp_path) -> HubSettings:
    return HubSettings(service_name=f"contract-{uuid.uuid4().hex[:6]}", database_url=url, kafka_bootstrap_servers=bootstrap,
                       kafka_profile=KafkaProfile.test, data_dir=tmp_path, consumer_retries=2)


def rejected(marker: str, case_id: uuid.UUID | None = None) -> CaseRejected:
    return CaseRejected(case_id=case_id or uuid.uuid4(), tracking_code=marker, reason_code="test", reason_fa="آزمون",
                        reason_en="test", rejected_at=datetime.now(UTC))


@asynccontextmanager
async def consuming(runtime, effect) -> AsyncIterator[tuple[str, AIOKafkaProducer]]:
    """`runtime` consuming `case rejected` with `effect` in a fresh group, and a producer to feed it."""
    group = f"contract-{uuid.uuid4().hex[:8]}"
    runtime.add_subscription(Subscription(topic=CASES.name, group=group, handlers={CaseRejected.event_type: effect}))
    producer = AIOKafkaProducer(bootstrap_servers=runtime.settings.kafka_bootstrap_servers)
    await producer.start()
    await runtime.broker.start()
    try:
        yield group, producer
    finally:
        await runtime.broker.stop()
        await producer.stop()
        await runtime.engine.dispose()


async def send(producer: AIOKafkaProducer, envelope, extra_headers: list[tuple[str, bytes]] = ()) -> None:
    key, value, headers = to_kafka(envelope)
    await producer.send_and_wait(CASES.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()] + list(extra_headers))


def stage_effect(runtime, session, event: CaseRejected) -> None:
    """The observable effect of the test consumers: one outbox row keyed by the case."""
    runtime.stage(session, DeadlineScheduled(case_id=event.case_id, tracking_code=event.tracking_code, unit_id="u",
                                             due_at=datetime.now(UTC), scheduled_at=datetime.now(UTC)))


async def read_topic(bootstrap: str, topic: str, want, expected: int, timeout: float = 20, **options) -> list:
    """Every record of `topic` for which `want(record)` holds, once `expected` of them arrived (`options`: the
    consumer's, e.g. larger fetch sizes for large records)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20, **options)
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)])
    await consumer.seek_to_beginning()
    found = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < expected and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            found += [record for records in batches.values() for record in records if want(record)]
        await asyncio.sleep(0.3)  # anything beyond `expected` would show up now
        batches = await consumer.getmany(timeout_ms=200)
        found += [record for records in batches.values() for record in records if want(record)]
    finally:
        await consumer.stop()
    return found


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic)


def header(record, name: str) -> str | None:
    return dict(record.headers).get(name, b"").decode() or None


async def test_relay_publishes_each_staged_event_once_as_a_cloudevent(database_url, kafka_bootstrap, tmp_path) -> None:
    runtime = create_runtime(settings_for(database_url, kafka_bootstrap, tmp_path))
    runtime.migrate()
    await runtime.broker.start()
    marker = uuid.uuid4().hex[:11]
    try:
        for _ in range(5):
            async with runtime.sessions() as session, session.begin():
                for _ in range(10):
                    runtime.stage(session, rejected(marker))
        assert await runtime.relay.publish_pending() == 50
        assert await runtime.relay.publish_pending() == 0
        records = await read_topic(kafka_bootstrap, CASES.name, lambda r: marker.encode() in r.value, 50)
        async with runtime.sessions() as session:
            unpublished = (await session.exec(select(func.count()).select_from(OutboxMessage)
                                              .where(col(OutboxMessage.published_at).is_(None)))).one()
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()
    assert len(records) == 50 and unpublished == 0
    assert len({header(r, "ce_id") for r in records}) == 50
    first = records[0]
    assert header(first, "ce_specversion") == "1.0" and header(first, "ce_type") == CaseRejected.event_type
    assert header(first, "content-type") == "application/json"
    assert header(first, "ce_subject") == first.key.decode() == json.loads(first.value)["case_id"]


@pytest.mark.postgres
async def test_a_row_that_commits_late_is_still_published(postgres_database, kafka_bootstrap, tmp_path) -> None:
    """PostgreSQL hands out ids before commit: a relay that tracked a high-water mark would skip id 1."""
    runtime = create_runtime(settings_for(postgres_database, kafka_bootstrap, tmp_path))
    runtime.migrate()
    await runtime.broker.start()
    early, late = rejected("early"), rejected("late")
    try:
        async with runtime.sessions() as slow:
            await slow.begin()
            runtime.stage(slow, early)
            await slow.flush()  # takes the lower id, not yet committed
            async with runtime.sessions() as fast, fast.begin():
                runtime.stage(fast, late)
            assert await runtime.relay.publish_pending() == 1
            await slow.commit()
        assert await runtime.relay.publish_pending() == 1
        keys = {str(early.case_id).encode(), str(late.case_id).encode()}
        records = await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key in keys, 2)
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()
    assert {r.key for r in records} == keys


async def test_consumer_applies_each_event_once_and_dead_letters_what_cannot_be_processed(database_url, kafka_bootstrap, tmp_path) -> None:
    runtime = create_runtime(settings_for(database_url, kafka_bootstrap, tmp_path))
    runtime.migrate()
    marker = uuid.uuid4().hex[:11]
    poison = rejected(f"poison-{marker}")

    async def effect(session, envelope) -> None:
        event = envelope.data
        if event.tracking_code == poison.tracking_code:
            raise RuntimeError("this event always fails")
        stage_effect(runtime, session, event)

    good = [rejected(marker) for _ in range(20)]
    async with consuming(runtime, effect) as (group, producer):
        envelopes = [wrap(event, "/test") for event in good]
        for envelope in [*envelopes, wrap(poison, "/test"), *envelopes[:5]]:  # the last five are redeliveries
            await send(producer, envelope)
        await producer.send_and_wait(CASES.name, b"\x00garbage", key=str(good[0].case_id).encode(),
                                     headers=[("ce_type", CaseRejected.event_type.encode())])
        after = rejected(marker)
        await send(producer, wrap(after, "/test"))
        wanted = {event.case_id for event in [*good, after]}

        async def effects() -> dict:
            async with runtime.sessions() as session:
                rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.topic == CASES.name))).all()
            counts: dict = {}
            for row in rows:
                case_id = uuid.UUID(row.key)
                if case_id in wanted:
                    counts[case_id] = counts.get(case_id, 0) + 1
            return counts

        for _ in range(200):
            if len(await effects()) == len(wanted):
                break
            await asyncio.sleep(0.1)
        counts = await effects()
        ours = {str(poison.case_id).encode(), str(good[0].case_id).encode()}
        dead = await read_topic(kafka_bootstrap, DLQ.name, lambda r: header(r, "hub_dlq_consumer_group") == group and r.key in ours, 2)
    assert counts == {case_id: 1 for case_id in wanted}, "each event has exactly one effect, redeliveries included"
    errors = sorted(header(r, "hub_dlq_error") for r in dead)
    assert len(dead) == 2
    assert any("always fails" in e for e in errors) and any("CloudEvents" in e or "MalformedMessage" in e for e in errors)
    assert all(header(r, "hub_dlq_origin_topic") == CASES.name and header(r, "hub_dlq_origin_offset") for r in dead)


def failing_at_first(runtime, marker: str, times: int, fail):
    """An effect for the events marked `marker`: the first `times` calls run `fail(session)` before staging (it is
    expected to raise, or to break the transaction), the rest stage the event's effect; and the calls left to fail."""
    left = {"left": times}

    async def effect(session, envelope) -> None:
        if envelope.data.tracking_code != marker:
            return
        if left["left"]:
            left["left"] -= 1
            await fail(session)
        stage_effect(runtime, session, envelope.data)

    return effect, left


@pytest.mark.postgres
async def test_a_connection_the_database_server_kills_mid_batch_delays_the_event_and_loses_nothing(
        postgres_database, kafka_bootstrap, tmp_path) -> None:
    """The server ends the consumer's connection inside its transaction, twice (as a restart or an operator would):
    the batch is fetched again and applied once, nothing is dead-lettered."""
    from sqlalchemy import text

    runtime = create_runtime(settings_for(postgres_database, kafka_bootstrap, tmp_path))
    runtime.migrate()
    marker = uuid.uuid4().hex[:11]

    async def kill(session) -> None:
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    effect, kills = failing_at_first(runtime, marker, 2, kill)
    event = rejected(marker)
    async with consuming(runtime, effect) as (group, producer):
        await send(producer, wrap(event, "/test"))
        for _ in range(300):
            async with runtime.sessions() as session:
                rows = (await session.exec(select(OutboxMessage.key).where(OutboxMessage.key == str(event.case_id)))).all()
            if rows:
                break
            await asyncio.sleep(0.1)
        dead = await read_topic(kafka_bootstrap, DLQ.name, lambda r: header(r, "hub_dlq_consumer_group") == group
                                and r.key.decode() == str(event.case_id), 0, timeout=1)  # the new group reads earlier tests' records too
    assert kills["left"] == 0, "the server killed the connection twice"
    assert rows == [str(event.case_id)], "applied once the connection was back, and once only"
    assert dead == [], "a killed connection is not a poison message"


async def test_bad_header_bytes_and_database_outages_lose_nothing(database_url, kafka_bootstrap, tmp_path) -> None:
    """A header that is not UTF-8 must not sink its batch; a failing database must delay, not dead-letter."""
    from sqlalchemy.exc import OperationalError

    runtime = create_runtime(settings_for(database_url, kafka_bootstrap, tmp_path))
    runtime.migrate()
    marker = uuid.uuid4().hex[:11]

    async def down(_session) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is down"))

    effect, _ = failing_at_first(runtime, marker, 3, down)
    events = [rejected(marker) for _ in range(3)]
    async with consuming(runtime, effect) as (group, producer):
        for event in events:
            await send(producer, wrap(event, "/test"), [("x-agency-note", b"\xff\xfe\x00bad")])
        wanted = {str(event.case_id) for event in events}
        for _ in range(300):
            async with runtime.sessions() as session:
                rows = (await session.exec(select(OutboxMessage.key).where(OutboxMessage.topic == CASES.name))).all()
            if wanted <= set(rows):
                break
            await asyncio.sleep(0.1)
        dead = await read_topic(kafka_bootstrap, DLQ.name, lambda r: header(r, "hub_dlq_consumer_group") == group
                                and r.key.decode() in wanted, 0, timeout=1)
    assert wanted <= set(rows), "every event was applied once the database came back"
    assert sorted(rows).count(sorted(wanted)[0]) == 1
    assert dead == [], "an outage is not a poison message"
