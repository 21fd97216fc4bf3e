"""`hub dlq-replay` puts dead letters back on their origin topic, as they were."""

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from hub_cli.dlq import replay
from hub_shared.topics import CASES, DLQ
from tests.integration.test_messaging import header, read_topic

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
