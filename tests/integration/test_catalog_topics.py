"""Topics come from the catalog alone, with the catalog's partition counts, however early a client asks for them.

The embedded broker creates a topic a client merely asks about, with 4 partitions: a consumer that reached a new,
empty broker before the catalog's topics were created there made its group share 4 partitions of a topic the
catalog gives 12, and the cases keyed to the other 8 were never routed. No client of the hub asks for creation.
"""

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from hub_cli.stack import free_port, start_broker
from hub_shared.bus import BrokerIdentity, create_topics
from hub_shared.topics import CASES
from tests.integration.test_broker_death import CASES_FILED, _all_once, consumer_of, effects, kill, runtime_at, until
from tests.integration.test_messaging import rejected

pytestmark = pytest.mark.broker


async def test_a_consumer_asking_for_a_topic_before_the_catalog_is_created_creates_nothing(tmp_path) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker.log")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"early-{uuid.uuid4().hex[:8]}")
    identity = BrokerIdentity(bootstrap)
    try:
        await consumer.start()
        consumer.subscribe([CASES.name])
        await consumer._client.force_metadata_update()  # the consumer has asked the broker for its topic
        assert CASES.name in consumer._client._topics
        assert await identity.missing_topics([CASES.name]) == [CASES.name], "asking created the topic"

        assert CASES.name in await create_topics(bootstrap)
        await consumer._client.force_metadata_update()
        assert len(consumer.partitions_for_topic(CASES.name)) == CASES.partitions == 12
        assert await identity.missing_topics([CASES.name]) == []
    finally:
        await consumer.stop()
        await identity.close()
        kill(broker)


async def test_a_group_that_reached_the_new_broker_before_its_topics_reads_every_partition_once_they_exist(tmp_path) -> None:
    """The outage test's rare failure, made certain: the consumer's client has asked the new, empty broker for its
    topic before anything created the catalog's topics there. Then the publishing service's relay creates them,
    with their partition counts, and publishes cases keyed to all of them: the group applies every one."""
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker-1.log")
    await create_topics(bootstrap)
    marker = uuid.uuid4().hex[:11]
    publisher = runtime_at(f"sqlite+aiosqlite:///{tmp_path}/publisher.db", bootstrap, tmp_path)
    routing = consumer_of(f"sqlite+aiosqlite:///{tmp_path}/consumer.db", bootstrap, tmp_path, f"routing-{marker}")
    try:
        await publisher.bus._connect()
        await routing.bus._connect()
        assert await publisher.relay.relay_batch() is not None  # the relay knows the first broker
        client = routing.broker.subscribers[0].consumer._client
        assert CASES.name in client.cluster.topics()

        kill(broker)
        broker = start_broker(port, tmp_path / "broker-2.log")
        await until(lambda: _forgot(client), 30, "the consumer's client finding the new broker without the topic")
        await asyncio.sleep(1)  # and asking again: with creation allowed, either ask would have made it with 4
        assert CASES.name not in client.cluster.topics()

        async with publisher.sessions() as session, session.begin():
            for _ in range(CASES_FILED):
                publisher.stage(session, rejected(marker))
        assert await publisher.relay.publish_pending() == CASES_FILED  # a new incarnation: the relay creates the topics
        await until(lambda: _all_once(routing, marker), 60, "the group applying the cases of every partition")
        assert len(await effects(routing, marker)) == CASES_FILED
        assert len(client.cluster.partitions_for_topic(CASES.name)) == 12
    finally:
        for runtime in (publisher, routing):
            await runtime.relay.stop()
            await runtime.bus.stop()
            await runtime.engine.dispose()
        kill(broker)


async def _forgot(client) -> bool:
    await client.force_metadata_update()
    return CASES.name not in client.cluster.topics()


async def test_a_service_joins_the_bus_once_its_topics_exist_and_says_what_it_waits_for(tmp_path) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker.log")
    routing = consumer_of(f"sqlite+aiosqlite:///{tmp_path}/consumer.db", bootstrap, tmp_path, f"routing-{uuid.uuid4().hex[:8]}")
    try:
        routing.bus.start()
        await until(lambda: _state_is(routing, f"connecting: TopicsMissing: topics not on the broker yet: {CASES.name}"), 20,
                    "readiness naming the missing topic")
        assert await BrokerIdentity(bootstrap).missing_topics([CASES.name]) == [CASES.name], "waiting created nothing"

        await create_topics(bootstrap)
        await until(lambda: _state_is(routing, "ok"), 30, "the service joining the bus")
        consumer = routing.broker.subscribers[0].consumer
        assert len(consumer.assignment()) == 12
    finally:
        await routing.bus.stop()
        await routing.engine.dispose()
        kill(broker)


async def _state_is(runtime, expected: str) -> bool:
    return await runtime.bus.state() == expected
