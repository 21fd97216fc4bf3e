"""Every service's ops endpoints on a real broker (routing here): only an ops token may use them; the dead letters
of the service's own groups are listed without their bodies and replayed to their origin; held cases and parked
outbox rows are listed and let go; each action is written to the ops audit log."""

import logging
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from hub_routing.app import create_runtime
from hub_shared.auth import Role
from hub_shared.consumer import HeldCase
from hub_shared.messaging import OutboxMessage
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.testing import bearer
from hub_shared.topics import CASES, DLQ
from tests.integration.test_messaging import header, read_topic

pytestmark = pytest.mark.broker
OPS = bearer(Role.ops, subject="ops-maryam")
SECRET_NAME = "زهرا احمدی"


@pytest.fixture
def routing(kafka_bootstrap, tmp_path):
    runtime = create_runtime(HubSettings(service_name="routing", data_dir=tmp_path, database_url="", kafka_bootstrap_servers=kafka_bootstrap,
                                         kafka_profile=KafkaProfile.test))
    runtime.migrate()
    return runtime, httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://routing")


async def dead_letter(bootstrap: str, group: str, key: bytes) -> str:
    """A letter as a consumer of `group` writes it, with a body holding a name; its id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(DLQ.name, f'{{"full_name": "{SECRET_NAME}"}}'.encode(), key=key, headers=[
            ("ce_id", uuid.uuid4().hex.encode()), ("ce_type", b"ir.hub.case.registered.v1"), ("ce_subject", key),
            ("hub_dlq_origin_topic", CASES.name.encode()), ("hub_dlq_origin_partition", b"0"), ("hub_dlq_origin_offset", b"7"),
            ("hub_dlq_consumer_group", group.encode()), ("hub_dlq_attempts", b"3"),
            ("hub_dlq_error", f"ValidationError: 1 validation error [type=string_too_long, input_value='{SECRET_NAME}', input_type=str]".encode())])
    finally:
        await producer.stop()
    return f"{sent.partition}:{sent.offset}"


async def test_only_an_ops_token_reaches_the_ops_endpoints(routing) -> None:
    _, client = routing
    assert (await client.get("/api/v1/ops/state")).status_code == 401
    refused = await client.get("/api/v1/ops/holds", headers=bearer(Role.national_supervisor))
    assert refused.status_code == 403 and "ops:admin" in refused.json()["error"]["message_en"]
    assert (await client.post("/api/v1/ops/outbox/release", json={"ids": [1]}, headers=bearer(Role.expert, "labour"))).status_code == 403
    state = (await client.get("/api/v1/ops/state", headers=OPS)).json()
    assert state["service"] == "routing" and state["checks"]["database"] == "ok" and state["outbox_parked"] == 0
    assert {group["group"] for group in state["groups"]} >= {"routing"}
    assert all(isinstance(group["lag"], int) for group in state["groups"]), state["groups"]


async def test_an_operator_sees_the_services_dead_letters_without_bodies_and_replays_one(routing, kafka_bootstrap, caplog) -> None:
    _, client = routing
    key = str(uuid.uuid4()).encode()
    ours, theirs = await dead_letter(kafka_bootstrap, "routing", key), await dead_letter(kafka_bootstrap, "reporting", key)
    listed = await client.get("/api/v1/ops/dead-letters", headers=OPS)
    assert listed.status_code == 200
    letters = {letter["id"]: letter for letter in listed.json()["letters"]}
    assert ours in letters and theirs not in letters, "a service shows only its own groups' letters"
    letter = letters[ours]
    assert letter["subject"] == key.decode() and letter["consumer_group"] == "routing" and letter["attempts"] == 3
    assert letter["reason"].startswith("ValidationError") and "input_value=…" in letter["reason"]
    assert SECRET_NAME not in listed.text, "neither the body nor a value quoted in the reason is shown"

    gone = await client.post("/api/v1/ops/dead-letters/replay", json={"ids": [ours, "0:999999999"]}, headers=OPS)
    assert gone.status_code == 422 and gone.json()["error"]["code"] == "no_such_letter"
    refused = await client.post("/api/v1/ops/dead-letters/replay", json={"ids": [theirs]}, headers=OPS)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_this_service"
    with caplog.at_level(logging.INFO, logger="hub.ops.audit"):
        replayed = await client.post("/api/v1/ops/dead-letters/replay", json={"ids": [ours]}, headers=OPS)
    assert replayed.status_code == 200 and replayed.json() == {"done": [ours]}
    [back] = await read_topic(kafka_bootstrap, CASES.name, lambda r: r.key == key, 1)
    assert header(back, "ce_type") == "ir.hub.case.registered.v1"
    assert not any(name.startswith("hub_dlq_") for name, _ in back.headers)
    [line] = [r for r in caplog.records if r.name == "hub.ops.audit"]
    assert line.actor == "ops-maryam" and line.role == "ops" and line.action == "dead-letters.replay" and line.targets == [ours]
    assert SECRET_NAME not in line.getMessage()


async def test_an_operator_releases_a_held_case_and_retries_a_parked_row(routing, caplog) -> None:
    runtime, client = routing
    case = str(uuid.uuid4())
    async with runtime.sessions() as session, session.begin():
        session.add(HeldCase(consumer="routing", key=case, first_event_id="e-1", held_since=datetime.now(UTC), reason="KeyError: 'x'"))
        session.add(OutboxMessage(event_id=uuid.uuid4().hex, topic="hub.cases.v1", key=case, value=b"{}", headers={"ce_type": "ir.hub.case.routed.v1"},
                                  created_at=datetime.now(UTC), parked_at=datetime.now(UTC), last_error="MessageSizeTooLargeError"))
    [hold] = (await client.get("/api/v1/ops/holds", headers=OPS)).json()
    assert (hold["group"], hold["key"], hold["first_event_id"]) == ("routing", case, "e-1")
    unknown = await client.post("/api/v1/ops/holds/release", json={"group": "routing", "keys": [str(uuid.uuid4())]}, headers=OPS)
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "not_held"
    [row] = (await client.get("/api/v1/ops/outbox/parked", headers=OPS)).json()
    assert (row["key"], row["event_type"], row["error"]) == (case, "ir.hub.case.routed.v1", "MessageSizeTooLargeError")
    with caplog.at_level(logging.INFO, logger="hub.ops.audit"):
        released = await client.post("/api/v1/ops/holds/release", json={"group": "routing", "keys": [case]}, headers=OPS)
        retried = await client.post("/api/v1/ops/outbox/release", json={"ids": [row["id"]]}, headers=OPS)
    assert released.json() == {"done": [case]} and retried.json() == {"done": [str(row["id"])]}
    assert (await client.get("/api/v1/ops/holds", headers=OPS)).json() == []
    assert (await client.get("/api/v1/ops/outbox/parked", headers=OPS)).json() == []
    assert [(r.action, r.targets) for r in caplog.records if r.name == "hub.ops.audit"] == [
        ("holds.release routing", [case]), ("outbox.release", [str(row["id"])])]
