"""Held cases at unit level (the broker-backed proof is tests/integration/test_case_holds.py): a group that
keeps order per key holds a case behind its dead-lettered event; one whose events add up in any order
(ratings keyed by unit) holds nothing, so one bad rating never stops a unit's others."""

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from sqlmodel import select

from hub_routing.app import create_runtime
from hub_shared.consumer import BatchConsumer, HeldCase, Subscription
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import RatingSubmitted
from hub_shared.testing import sqlite_runtime
from hub_shared.topics import DLQ, FEEDBACK

UNIT = "labour/tehran/performance-office"


class DeadLetters:
    """Stands in for the broker: keeps what is published to the DLQ."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def publish(self, value, topic, key=None, headers=None) -> None:
        assert topic == DLQ.name
        self.sent.append(headers)


def record(rating: RatingSubmitted, offset: int) -> ConsumerRecord:
    key, value, headers = to_kafka(wrap(rating, "/test"))
    return ConsumerRecord(topic=FEEDBACK.name, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key, value=value,
                          checksum=None, serialized_key_size=len(key), serialized_value_size=len(value),
                          headers=[(name, content.encode()) for name, content in headers.items()])


def rating(score: int) -> RatingSubmitted:
    return RatingSubmitted(rating_id=uuid.uuid4(), unit_id=UNIT, score=score, rated_on=datetime.now(UTC).date())


@pytest.mark.parametrize("hold_cases,applied_after_failure", [(True, []), (False, [4, 5])])
async def test_a_failed_rating_holds_its_unit_only_where_order_matters(tmp_path, hold_cases, applied_after_failure) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    applied: list[int] = []  # handler calls, rolled-back ones included

    async def project(session, envelope) -> None:
        if envelope.data.score == 3:
            raise ValueError("a bug in this version")
        applied.append(envelope.data.score)

    group = f"ratings-{uuid.uuid4().hex[:6]}"
    letters = DeadLetters()
    consumer = BatchConsumer(letters, runtime.settings.model_copy(update={"consumer_retries": 1}), runtime.sessions,
                             Subscription(topic=FEEDBACK.name, group=group, handlers={RatingSubmitted.event_type: project},
                                          hold_cases=hold_cases))
    await consumer.process([record(rating(score), offset) for offset, score in enumerate((1, 2, 3))])
    await consumer.process([record(rating(score), offset) for offset, score in enumerate((4, 5), start=3)])

    assert set(applied) == {1, 2, *applied_after_failure}  # 1 and 2 ran twice: in the batch rolled back, then alone
    async with runtime.sessions() as session:
        holds = (await session.exec(select(HeldCase).where(HeldCase.consumer == group))).all()
    assert [hold.key for hold in holds] == ([UNIT] if hold_cases else [])
    held_behind = [headers for headers in letters.sent if "hub_dlq_held_behind" in headers]
    assert len(letters.sent) == 1 + len(held_behind) and len(held_behind) == (2 if hold_cases else 0)
    await runtime.engine.dispose()


async def test_a_batch_handler_gets_each_new_event_of_a_batch_once_in_one_call(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "routing", tmp_path)
    calls: list[list[int]] = []

    async def project_all(session, envelopes) -> None:
        calls.append([envelope.data.score for envelope in envelopes])

    consumer = BatchConsumer(DeadLetters(), runtime.settings, runtime.sessions,
                             Subscription(topic=FEEDBACK.name, group=f"ratings-{uuid.uuid4().hex[:6]}", hold_cases=False,
                                          batch_handlers={RatingSubmitted.event_type: project_all}))
    first = [record(rating(score), offset) for offset, score in enumerate((1, 2, 3))]
    await consumer.process(first)
    await consumer.process([*first[1:], record(rating(4), 3)])  # two redelivered, one new
    assert calls == [[1, 2, 3], [4]]
    await runtime.engine.dispose()
