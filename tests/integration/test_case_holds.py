"""Order per case survives a dead letter, against a real broker, on SQLite and on PostgreSQL: the events of a
case behind one that failed follow it into the DLQ; other cases go on; a replay after the fix applies the
failed event and those behind it in their order, and lifts the hold."""

import asyncio
import json
import uuid

import pytest
from sqlmodel import select

from hub_shared.dlq_replay import replay
from hub_routing.app import create_runtime
from hub_shared.consumer import HeldCase
from hub_shared.envelope import wrap
from hub_shared.messaging import OutboxMessage
from hub_shared.topics import CASES, DLQ
from tests.integration.test_messaging import consuming, database_url, header, read_topic, rejected, send, settings_for, stage_effect  # noqa: F401

pytestmark = pytest.mark.broker


async def test_a_failed_event_holds_its_case_until_replayed_and_then_all_apply_in_order(database_url, kafka_bootstrap, tmp_path) -> None:
    runtime = create_runtime(settings_for(database_url, kafka_bootstrap, tmp_path))
    runtime.migrate()
    broken = {"yes": True}
    case_a, case_b = uuid.uuid4(), uuid.uuid4()
    a, b = str(case_a), str(case_b)

    async def effect(session, envelope) -> None:
        event = envelope.data
        if (event.case_id, event.tracking_code) == (case_a, "a2") and broken["yes"]:
            raise RuntimeError("a bug in this version")
        stage_effect(runtime, session, event)

    async def applied() -> dict[str, list[str]]:
        async with runtime.sessions() as session:
            rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.topic == CASES.name).order_by(OutboxMessage.id))).all()
        order: dict[str, list[str]] = {}
        for row in rows:
            if row.key in (a, b):  # the group reads the topic from its start: other tests' cases are there too
                order.setdefault(row.key, []).append(json.loads(row.value)["tracking_code"])
        return order

    async def wait_for(expected: dict[str, list[str]]) -> dict[str, list[str]]:
        for _ in range(300):
            order = await applied()
            if all(len(order.get(key, [])) >= len(codes) for key, codes in expected.items()):
                break
            await asyncio.sleep(0.1)
        return await applied()

    async with consuming(runtime, effect) as (group, producer):
        events = [wrap(rejected("a1", case_a), "/test"), wrap(rejected("b1", case_b), "/test"), wrap(rejected("a2", case_a), "/test"),
                  wrap(rejected("a3", case_a), "/test"), wrap(rejected("b2", case_b), "/test"), wrap(rejected("a4", case_a), "/test")]
        for envelope in events:
            await send(producer, envelope)
        # the fresh group reads the topic from its start: other tests' records (a huge one, say) may be dead-lettered in it too
        dead = await read_topic(kafka_bootstrap, DLQ.name,
                                lambda r: header(r, "hub_dlq_consumer_group") == group and r.key in (a.encode(), b.encode()), 3)
        assert await wait_for({a: ["a1"], b: ["b1", "b2"]}) == {a: ["a1"], b: ["b1", "b2"]}, \
            "the case behind the failure waits; the other case is not held up"
        failed, *behind = sorted(dead, key=lambda r: r.offset)
        assert "a bug in this version" in header(failed, "hub_dlq_error")
        assert [header(r, "ce_id") for r in behind] == [events[3].id, events[5].id]
        assert {header(r, "hub_dlq_held_behind") for r in behind} == {events[2].id}
        async with runtime.sessions() as session:
            [hold] = (await session.exec(select(HeldCase).where(HeldCase.consumer == group))).all()
        assert (hold.key, hold.first_event_id) == (a, events[2].id) and "a bug" in hold.reason

        broken["yes"] = False  # the fix is deployed; the operator replays
        replayed = await replay(kafka_bootstrap, group=f"replay-{uuid.uuid4().hex[:6]}", only_group=group, report=lambda _: None)
        assert replayed >= 3, "the three of the held case, and any other test's record this group dead-lettered"
        assert await wait_for({a: ["a1", "a2", "a3", "a4"]}) == {a: ["a1", "a2", "a3", "a4"], b: ["b1", "b2"]}
        async with runtime.sessions() as session:
            assert (await session.exec(select(HeldCase).where(HeldCase.consumer == group))).all() == []

        await send(producer, wrap(rejected("a5", case_a), "/test"))
        assert (await wait_for({a: ["a1", "a2", "a3", "a4", "a5"]}))[a][-1] == "a5", "the case flows again"

