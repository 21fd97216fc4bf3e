"""`python -m hub_reporting rebuild` on a real broker: the read models come back from the topics, and the rebuild
reads them with a consumer of its own, never as a member of reporting's groups (a member would apply the groups'
newest facts while the replay is still at the oldest: a case's later status before its earlier ones)."""

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from hub_cli.stack import free_port, start_broker
from hub_reporting.app import create_runtime
from hub_reporting.rebuild import clear, replay
from hub_shared.bus import create_topics
from hub_shared.envelope import to_kafka
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.topics import CASES, DLQ
from tests.integration.test_messaging import read_topic
from services.reporting.tests.test_reports import case_events

pytestmark = pytest.mark.broker


async def test_a_rebuild_replays_the_topic_without_joining_reportings_groups(tmp_path) -> None:
    port = free_port()
    broker = start_broker(port, tmp_path / "broker.log")  # its own: no group of another test on it
    try:
        await _rebuild_on(f"127.0.0.1:{port}", tmp_path)
    finally:
        broker.kill()
        broker.wait(10)


async def _rebuild_on(kafka_bootstrap: str, tmp_path) -> None:
    await create_topics(kafka_bootstrap)
    settings = HubSettings(service_name="reporting", data_dir=tmp_path, database_url="", kafka_bootstrap_servers=kafka_bootstrap,
                           kafka_profile=KafkaProfile.test)
    runtime = create_runtime(settings)
    runtime.migrate()
    cases = [case_events(n)[:2] for n in range(1, 4)]  # registered and routed
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for case in cases:
            for event in case:
                key, value, headers = to_kafka(event)
                await producer.send_and_wait(CASES.name, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
        await producer.send_and_wait(CASES.name, b"{not json", key=b"broken", headers=[("ce_type", b"ir.hub.case.routed.v1")])
    finally:
        await producer.stop()

    await clear(runtime)
    applied = await replay(runtime)

    async with runtime.engine.connect() as connection:
        statuses = dict((await connection.execute(text("SELECT tracking_code, status FROM reporting_case_status"))).all())
    assert {case[0].data.tracking_code: "referred" for case in cases}.items() <= statuses.items()
    assert applied >= 2 * len(cases)
    assert await _groups(kafka_bootstrap) == set(), "the rebuild joined a consumer group"
    dead = await read_topic(kafka_bootstrap, DLQ.name, lambda record: record.key == b"broken", 1)
    assert dead[0].value == b"{not json", "the malformed fact went to the dead letters, as in the service"
    await runtime.engine.dispose()


async def _groups(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {group[0] for group in await admin.list_consumer_groups()}
    finally:
        await admin.close()
