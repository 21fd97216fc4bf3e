"""Two processes of routing and two of followup, each pair on its service's one PostgreSQL database, share
the partitions of hub.cases.v1 on the real broker: every case is routed once and gets its follow-up steps
once. When one process of each pair leaves, the other takes all the partitions over and carries on.

The processes are the services' own runtimes (lifespan, bus, relay, background jobs) in this test's event
loop; the cases come from a producer as intake would publish them.
"""

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from hub_cli.stack import free_port, start_broker
from hub_followup.app import create_runtime as create_followup
from hub_routing.app import create_runtime as create_routing
from hub_shared.bus import create_topics
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import CaseRegistered, Target
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.topics import CASES
from tests.conftest import fresh_postgres_database
from tests.integration.test_broker_death import kill, until

pytestmark = pytest.mark.broker
PARTITIONS = 12
EACH_ROUND = 60


def replica(create, service: str, url: str, bootstrap: str, folder: Path) -> Runtime:
    folder.mkdir()
    return create(HubSettings(service_name=service, database_url=url, kafka_bootstrap_servers=bootstrap,
                              kafka_profile=KafkaProfile.test, data_dir=folder))


def registered(marker: str) -> CaseRegistered:
    return CaseRegistered(case_id=uuid.uuid4(), tracking_code=marker, case_number="1405-00000001", kind="complaint",
                          channel="web", target=Target(agency="labour", province="tehran", county="rey"),
                          registered_at=datetime.now(UTC))


async def file_cases(bootstrap: str, marker: str, count: int) -> set[str]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        cases = [registered(marker) for _ in range(count)]
        for case in cases:
            key, value, headers = to_kafka(wrap(case, "/hub/intake"))
            await producer.send_and_wait(CASES.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()
    return {str(case.case_id).replace("-", "") for case in cases}


async def per_case(runtime: Runtime, sql: str) -> dict[str, int]:
    async with runtime.engine.connect() as connection:
        return {str(case).replace("-", ""): n for case, n in (await connection.execute(text(sql))).all()}


async def routed(runtime: Runtime) -> dict[str, int]:
    return await per_case(runtime, "SELECT case_id, count(*) FROM routing_referral GROUP BY case_id")


async def timed(runtime: Runtime) -> dict[str, int]:
    """Cases with follow-up steps, and for each how many steps it has more than once (0 when none repeats)."""
    return await per_case(runtime, "SELECT case_id, count(*) - count(DISTINCT step) FROM followup_timer GROUP BY case_id")


def cases_partitions(runtime: Runtime, group: str) -> int:
    subscriber = next(s for s in runtime.broker.subscribers if s.group_id == group and CASES.name in s.topic_names)
    return len(subscriber.consumer.assignment()) if subscriber.consumer else 0


async def test_two_replicas_share_the_partitions_and_the_survivor_takes_them_over(postgres_admin_url, tmp_path) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = start_broker(port, tmp_path / "broker.log")
    databases = [fresh_postgres_database(postgres_admin_url) for _ in range(2)]
    routing_url, followup_url = (next(database) for database in databases)
    try:
        await create_topics(bootstrap)
        routings = [replica(create_routing, "routing", routing_url, bootstrap, tmp_path / f"routing-{n}") for n in (1, 2)]
        followups = [replica(create_followup, "followup", followup_url, bootstrap, tmp_path / f"followup-{n}") for n in (1, 2)]
        async with AsyncExitStack() as running:
            first_of_each = AsyncExitStack()
            for runtime in (routings[0], followups[0]):
                await first_of_each.enter_async_context(runtime.lifespan(None))
            for runtime in (routings[1], followups[1]):
                await running.enter_async_context(runtime.lifespan(None))
            every = (*routings, *followups)
            await until(lambda: _all_joined(every), what="all four processes consuming")
            await until(lambda: _shared(routings, "routing"), what="the routing pair sharing the partitions")
            await until(lambda: _shared(followups, "followup"), what="the followup pair sharing the partitions")
            assert all(cases_partitions(r, "routing") > 0 for r in routings), "both routing processes hold partitions"
            assert all(cases_partitions(f, "followup") > 0 for f in followups), "both followup processes hold partitions"

            marker = uuid.uuid4().hex[:11]
            first = await file_cases(bootstrap, marker, EACH_ROUND)
            await until(lambda: _done(routings[1], followups[1], first), what="the first round routed and timed")

            await first_of_each.aclose()  # one process of each pair leaves its groups
            await until(lambda: _holds_all(routings[1], "routing"), what="the routing survivor holding every partition")
            await until(lambda: _holds_all(followups[1], "followup"), what="the followup survivor holding every partition")
            second = await file_cases(bootstrap, marker, EACH_ROUND)
            await until(lambda: _done(routings[1], followups[1], first | second), what="the second round routed and timed")
            await asyncio.sleep(2)  # a second effect, if one were coming, would land within this

            referrals, repeats = await routed(routings[1]), await timed(followups[1])
            assert {case: referrals.get(case) for case in first | second} == dict.fromkeys(first | second, 1)
            assert {case: repeats.get(case) for case in first | second} == dict.fromkeys(first | second, 0)
    finally:
        kill(broker)
        for database in databases:
            next(database, None)


async def _all_joined(runtimes) -> bool:
    return all([await runtime.bus.state() == "ok" for runtime in runtimes])


async def _shared(pair: list[Runtime], group: str) -> bool:
    return sum(cases_partitions(runtime, group) for runtime in pair) == PARTITIONS


async def _holds_all(runtime: Runtime, group: str) -> bool:
    return cases_partitions(runtime, group) == PARTITIONS


async def _done(routing: Runtime, followup: Runtime, cases: set[str]) -> bool:
    return cases <= (await routed(routing)).keys() and cases <= (await timed(followup)).keys()
