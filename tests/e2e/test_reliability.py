"""Failures on the bus: malformed messages, and a consumer killed with SIGKILL mid-stream."""

import asyncio
import time
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from hub_cli.stack import SERVICES
from tests.e2e.helpers import staff_headers, log_lines, read_all, submit, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.broker]


def publish_raw(bootstrap: str, topic: str, value: bytes, key: bytes, headers: list) -> None:
    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(run())


REGISTERED_CONSUMERS = {"routing", "reporting", "samad-gateway", "followup-casework"}


def test_a_malformed_message_goes_to_the_dlq_and_the_partition_moves_on(hub) -> None:
    registration = submit(hub)
    key = registration["case_id"].encode()  # same key, so the same partition as the next events of this case
    publish_raw(hub.bootstrap, "hub.cases.v1", b"{\"not\": \"a case\"}", key, [("ce_type", b"ir.hub.case.registered.v1")])
    after = submit(hub)
    wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    wait_for_status(hub, after["tracking_code"], "referred", history=3)
    deadline = time.monotonic() + 60  # four groups; one may be rebalancing on a busy machine
    while time.monotonic() < deadline:
        dead = [r for r in read_all(hub.bootstrap, "hub.dlq.v1") if r.key == key]
        groups = {dict(r.headers)["hub_dlq_consumer_group"].decode() for r in dead}
        if groups >= REGISTERED_CONSUMERS:
            break
        time.sleep(0.3)
    # every group that consumes `case registered` dead-letters it; followup's timers have no use for that type
    assert groups == REGISTERED_CONSUMERS
    headers = dict(dead[0].headers)
    assert b"CloudEvents" in headers["hub_dlq_error"] and headers["hub_dlq_origin_topic"] == b"hub.cases.v1"
    assert all(hub.processes[name].poll() is None for name in hub.processes), "no service crashed"


def rewind_group(bootstrap: str, group: str, topic: str) -> None:
    """Join `group`, take all partitions and commit offset 0 on each: every event comes to it again."""
    async def run() -> None:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                    session_timeout_ms=6000, heartbeat_interval_ms=300, max_poll_records=1)
        await consumer.start()
        try:
            partitions = {TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()}
            for _ in range(200):
                await consumer.getmany(timeout_ms=100)
                if partitions and consumer.assignment() == partitions:
                    break
            assert consumer.assignment() == partitions, "the rewinding consumer did not get every partition"
            await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in partitions})
        finally:
            await consumer.stop()

    asyncio.run(run())


def test_kill_9_and_full_redelivery_duplicate_no_effect(hub) -> None:
    spec = next(s for s in SERVICES if s.name == "routing")
    first = [submit(hub) for _ in range(20)]
    for registration in first:  # these are certainly routed before the kill, so the rewind must find them done
        wait_for_status(hub, registration["tracking_code"], "referred", history=2)
    in_flight = [submit(hub) for _ in range(10)]
    hub.kill("routing")  # SIGKILL while it may be mid-batch: no shutdown hook, no offset commit
    second = in_flight + [submit(hub) for _ in range(10)]
    time.sleep(7)  # the dead member's session (6 s in the test profile) expires
    rewind_group(hub.bootstrap, "routing", "hub.cases.v1")
    hub.start_service(spec)  # same port, same database
    hub.wait_ready(["routing"], timeout=60)
    for registration in first + second:
        wait_for_status(hub, registration["tracking_code"], "referred", history=3)
    time.sleep(2)
    ours = {r["case_id"] for r in first + second}
    routed_events = {
        (record.key.decode(), dict(record.headers)["ce_id"])
        for record in read_all(hub.bootstrap, "hub.cases.v1")
        if dict(record.headers).get("ce_type") == b"ir.hub.case.routed.v1" and record.key.decode() in ours
    }
    # A relay killed between publishing and marking may publish a row twice: the same ce_id, which every
    # consumer drops. A second routing decision would carry a new ce_id: that is what must never happen.
    routed = Counter(case_id for case_id, _ in routed_events)
    assert routed == Counter({case_id: 1 for case_id in ours}), "each case routed exactly once despite redelivery"
    for registration in first[:5] + second[:5]:
        timers = httpx.get(f"{hub.url('followup')}/api/v1/cases/{registration['case_id']}/timers", headers=staff_headers()).json()
        assert sorted(t["step"] for t in timers) == ["answer_deadline", "reminder-1", "reminder-5"], "one ladder, not two"
    skipped = [line for line in log_lines(hub) if "duplicate delivery" in line and '"service": "routing"' in line]
    assert len(skipped) >= len(first), "the rewound group really saw the events again"
