"""The embedded broker dies at the worst moment and comes back empty: nothing is lost, nothing applied twice.

The moment: the relay has published a batch and marked it published, one consumer group has applied it,
another has not read it yet, and then the broker is killed with `kill -9`. A new broker (a new
incarnation, with nothing in memory) starts on the same address. The publishing service's relay sees
the new cluster id, puts the rows the old broker had back in line and publishes them again; the group
that had them drops the copies by event id, the other applies each once. Run on SQLite and PostgreSQL.
"""

import asyncio
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlmodel import select

from hub_cli.stack import free_port, start_broker
from hub_shared.bus import BrokerIdentity, IncarnationGuard, create_topics
from hub_shared.consumer import Subscription
from hub_shared.events import CaseRejected
from hub_shared.messaging import OutboxMessage
from hub_shared.service import Runtime
from hub_shared.topics import CASES
from tests.integration.test_messaging import database_url, rejected, settings_for, stage_effect  # noqa: F401 (fixture)

pytestmark = pytest.mark.broker
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "routing" / "hub_routing" / "migrations"
CASES_FILED = 20


def runtime_at(url: str, bootstrap: str, tmp_path: Path) -> Runtime:
    runtime = Runtime(settings_for(url, bootstrap, tmp_path), migrations=MIGRATIONS)
    runtime.migrate()
    return runtime


def consumer_of(url: str, bootstrap: str, tmp_path: Path, group: str) -> Runtime:
    """A service whose group turns each `case rejected` into one outbox row keyed by the case: its effect."""
    runtime = runtime_at(url, bootstrap, tmp_path)
    runtime.add_subscription(Subscription(topic=CASES.name, group=group, handlers={
        CaseRejected.event_type: lambda session, envelope: _effect(runtime, session, envelope)}))
    return runtime


async def _effect(runtime: Runtime, session, envelope) -> None:
    stage_effect(runtime, session, CaseRejected.model_validate(envelope.data))


async def effects(runtime: Runtime, marker: str) -> dict[str, int]:
    """How many effect rows each case of this test has in the consumer's outbox."""
    async with runtime.sessions() as session:
        rows = (await session.exec(select(OutboxMessage.key, OutboxMessage.value))).all()
    return dict(Counter(key for key, value in rows if marker.encode() in value))


async def until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f} s: {what}")
        await asyncio.sleep(0.2)


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


async def test_facts_published_to_a_broker_that_dies_reach_every_group_exactly_once(database_url, tmp_path) -> None:  # noqa: F811
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker-1.log")
    await create_topics(bootstrap)
    marker = uuid.uuid4().hex[:11]
    base = database_url.rsplit("/", 1)[0] if not database_url.startswith("sqlite") else None
    urls = [database_url] + ([f"sqlite+aiosqlite:///{tmp_path}/{name}.db" for name in ("early", "late")] if base is None else [])
    if base is not None:  # each service its own database, as in production
        from tests.conftest import fresh_postgres_database
        fresh = [fresh_postgres_database(f"{base}/postgres") for _ in range(2)]
        urls += [next(generator) for generator in fresh]
    publisher = runtime_at(urls[0], bootstrap, tmp_path)
    early = consumer_of(urls[1], bootstrap, tmp_path, f"early-{marker}")
    late = consumer_of(urls[2], bootstrap, tmp_path, f"late-{marker}")
    try:
        await publisher.bus._connect()
        await early.bus._connect()
        async with publisher.sessions() as session, session.begin():
            for _ in range(CASES_FILED):
                publisher.stage(session, rejected(marker))
        assert await publisher.relay.publish_pending() == CASES_FILED
        await until(lambda: _all_once(early, marker), what="the early group applying every fact")

        kill(broker)  # published and marked, read by one group only: the worst moment
        broker = start_broker(port, tmp_path / "broker-2.log")
        await create_topics(bootstrap)

        await until(lambda: _republished(publisher), what="the relay putting the lost rows back in line")
        assert await publisher.relay.publish_pending() == 0, "everything went again in the same pass"
        publisher.relay.start()
        await late.bus._connect()
        await until(lambda: _all_once(late, marker), what="the late group applying every fact")
        await asyncio.sleep(2)  # a second copy, if any were coming, would land within this
        assert await effects(early, marker) == await effects(late, marker)
        assert set((await effects(early, marker)).values()) == {1}, "the early group applied a republished fact twice"
        assert publisher.relay.republished == CASES_FILED
    finally:
        for runtime in (publisher, early, late):
            await runtime.relay.stop()
            await runtime.bus.stop()
            await runtime.engine.dispose()
        kill(broker)
        if base is not None:
            for generator in fresh:
                next(generator, None)


async def _all_once(runtime: Runtime, marker: str) -> bool:
    counts = await effects(runtime, marker)
    return len(counts) == CASES_FILED and set(counts.values()) == {1}


async def _republished(runtime: Runtime) -> bool:
    await runtime.relay.relay_batch()
    return runtime.relay.republished > 0


class CountingIdentity(BrokerIdentity):
    def __init__(self, bootstrap: str) -> None:
        super().__init__(bootstrap)
        self.asked = 0

    async def cluster_id(self) -> str:
        self.asked += 1
        return await super().cluster_id()


class Scene:
    """An embedded broker with the catalog's topics, a producer, and a consumer with its guard (not in a group
    unless `group_id` is given: the test assigns partitions and calls the listener itself)."""

    def __init__(self, tmp_path: Path, **consumer_options) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        bootstrap = f"127.0.0.1:{self.port}"
        self.bootstrap = bootstrap
        self.starts = 0
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20, **consumer_options)
        self.identity = CountingIdentity(bootstrap)
        self.guard = IncarnationGuard(self.identity)

    async def start_broker(self) -> None:
        self.starts += 1
        self.broker = start_broker(self.port, self.tmp_path / f"broker-{self.starts}.log")
        await create_topics(self.bootstrap)

    async def restart_broker(self) -> None:
        """`kill -9`, and a new incarnation on the same address: empty, with a cluster id of its own."""
        kill(self.broker)
        await self.start_broker()

    async def send(self, partition: int, *values: str) -> None:
        for value in values:
            await self.producer.send_and_wait(CASES.name, value.encode(), partition=partition)


@asynccontextmanager
async def scene(tmp_path: Path, **consumer_options) -> AsyncIterator[Scene]:
    it = Scene(tmp_path, **consumer_options)
    await it.start_broker()
    await it.producer.start()
    await it.consumer.start()
    try:
        yield it
    finally:
        await it.consumer.stop()
        await it.producer.stop()
        await it.identity.close()
        kill(it.broker)


async def test_a_consumer_that_reads_a_new_broker_at_the_old_ones_offsets_starts_over_from_its_beginning(tmp_path) -> None:
    """What made a case filed during an outage go unrouted: the fetcher went on at the old broker's offsets in the
    new broker's log and skipped its first records. The guard sees the new incarnation and rewinds."""
    partition = TopicPartition(CASES.name, 0)
    async with scene(tmp_path) as it:
        consumer, guard = it.consumer, it.guard
        await it.send(0, "old-0", "old-1", "old-2")
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        assert await values(consumer, 3) == ["old-0", "old-1", "old-2"]
        assert not await guard.rewound(consumer), "the broker the positions came from"
        assert not await guard.rewound(consumer) and it.identity.asked == 1, "no new connection, nothing to ask"

        consumer.pause(partition)  # no fetch until the new broker holds more than the old position
        await it.restart_broker()
        await it.send(0, "new-0", "new-1", "new-2", "new-3")
        consumer.resume(partition)
        assert await values(consumer, 1) == ["new-3"], "aiokafka alone reads on at the old offset"

        assert await guard.rewound(consumer), "the new incarnation is seen"
        assert await values(consumer, 4) == ["new-0", "new-1", "new-2", "new-3"]
        assert not await guard.rewound(consumer) and it.identity.asked == 2


async def test_a_partition_last_committed_to_the_old_broker_is_rewound_when_the_group_gets_it_on_the_new_one(tmp_path) -> None:
    """A commit in flight when the broker died is retried until the new broker takes it: the old positions, which
    a group that rejoins after the guard saw the new incarnation would start from. The guard remembers which
    incarnation each partition was last committed to and rewinds the partition when the group is given it."""
    partition, other = TopicPartition(CASES.name, 0), TopicPartition(CASES.name, 1)
    async with scene(tmp_path, group_id=f"guard-{uuid.uuid4().hex[:8]}") as it:
        consumer, guard = it.consumer, it.guard
        await it.send(0, "old-0", "old-1", "old-2")
        consumer.assign([partition])
        await guard.on_partitions_assigned({partition})
        await consumer.seek_to_beginning(partition)
        assert await values(consumer, 3) == ["old-0", "old-1", "old-2"]
        assert not await guard.rewound(consumer)
        await guard.commit(Delivered(consumer))  # offset 3, in the old broker's log

        consumer.pause(partition)
        await it.restart_broker()
        await it.send(0, "new-0", "new-1", "new-2", "new-3")
        await it.send(1, "other-0", "other-1")
        consumer.resume(partition)
        first = await records(consumer, 1)
        assert await guard.rewound(consumer, first), "read at the old offset: the new incarnation is seen"
        assert await values(consumer, 4) == ["new-0", "new-1", "new-2", "new-3"]

        consumer.assign([partition, other])  # the group rejoins, its positions from the commits on the new broker:
        consumer.seek(partition, 3)  # the old positions' retried commit,
        consumer.seek(other, 0)  # and the other partition's own
        await guard.on_partitions_assigned({partition, other})
        batch = await records(consumer, 3)
        assert sorted(record.value.decode() for record in batch) == ["new-3", "other-0", "other-1"]
        assert await guard.rewound(consumer, batch), "the partition's last commit went to another incarnation"
        assert sorted(await values(consumer, 6)) == ["new-0", "new-1", "new-2", "new-3", "other-0", "other-1"], \
            "the dropped batch's records of the other partition come again"

        assert not await guard.rewound(consumer)
        await guard.commit(Delivered(consumer))
        await guard.on_partitions_assigned({partition, other})  # a rebalance on the same broker rewinds nothing
        assert not await guard.rewound(consumer)


class Delivered:
    """What FastStream hands the subscriber for a batch, as far as committing it goes."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def ack(self) -> None:
        await self.consumer.commit()


async def records(consumer: AIOKafkaConsumer, expected: int, seconds: float = 20) -> list:
    found: list = []
    deadline = asyncio.get_running_loop().time() + seconds
    while len(found) < expected:
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} of {expected} records in {seconds:.0f} s: {found}"
        batches = await consumer.getmany(timeout_ms=500)
        found += [record for batch in batches.values() for record in batch]
    return found


async def values(consumer: AIOKafkaConsumer, expected: int) -> list[str]:
    return [record.value.decode() for record in await records(consumer, expected)]
