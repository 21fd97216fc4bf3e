"""The outbox relay on SQLite with a fake broker: a row the broker refuses for good is parked with the
rows of its key behind it, other keys go on, a passing failure still blocks, and released rows go out in order."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.errors import (
    InvalidTopicError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    ProducerClosed,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownError,
)
from sqlmodel import col, select

from hub_shared import db
from hub_shared.messaging import OutboxMessage, release
from hub_shared.outbox import OutboxRelay, refused_for_good

CASES = "hub.cases.v1"


class FakeBroker:
    """Takes every record except those it is told to refuse, when sending or in the broker's answer."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.refusals: dict[str, tuple[Exception, str]] = {}

    def refuse(self, label: str, error: Exception, when: str = "send") -> None:
        self.refusals[label] = (error, when)

    async def publish(self, value: bytes, topic: str, *, key: bytes, headers: dict, no_confirm: bool) -> asyncio.Future:
        label = value.decode().split("|")[0]
        error, when = self.refusals.get(label, (None, ""))
        if when == "send":
            raise error
        answer = asyncio.get_running_loop().create_future()
        if error is not None:
            answer.set_exception(error)
        else:
            self.delivered.append(label)
            answer.set_result(None)
        return answer


@pytest.fixture
async def sessions(tmp_path):
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    async with engine.begin() as connection:
        await connection.run_sync(OutboxMessage.__table__.create)
    yield db.make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def relay(broker, sessions) -> OutboxRelay:
    return OutboxRelay(broker=broker, sessions=sessions, service="intake", batch_size=100, poll_seconds=0.05)


async def stage(sessions, *labels: str) -> dict[str, int]:
    """One row per label: `A1` is case A's first event. The value carries a payload no log may show."""
    async with sessions() as session, session.begin():
        rows = [OutboxMessage(event_id=str(uuid.uuid4()), topic=CASES, key=f"case-{label[0]}", value=f"{label}|secret payload".encode(),
                              headers={"ce_type": "ir.hub.case.registered.v1"}, created_at=datetime.now(UTC)) for label in labels]
        session.add_all(rows)
        await session.flush()
        return {label: row.id for label, row in zip(labels, rows)}


async def parked(sessions) -> dict[str, str]:
    """Parked rows by label, with their `last_error`."""
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.parked_at).is_not(None)).order_by(OutboxMessage.id))).all()
    return {row.value.decode().split("|")[0]: row.last_error for row in rows}


async def pending(sessions) -> list[str]:
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None), col(OutboxMessage.parked_at).is_(None))
                                   .order_by(OutboxMessage.id))).all()
    return [row.value.decode().split("|")[0] for row in rows]


async def test_a_row_refused_for_good_is_parked_with_its_case_behind_it_while_other_cases_go_on(relay, broker, sessions, caplog) -> None:
    ids = await stage(sessions, "A1", "B1", "A2", "C1", "A3")
    broker.refuse("A1", MessageSizeTooLargeError("The message is 2000000 bytes when serialized " + "x" * 600))
    with caplog.at_level(logging.ERROR, logger="hub_shared.outbox"):
        assert await relay.relay_batch() == (2, 3)
    assert broker.delivered == ["B1", "C1"]
    held = f"held behind row {ids['A1']} (same topic and key), which the broker refused"
    errors = await parked(sessions)
    assert errors == {"A1": errors["A1"], "A2": held, "A3": held}
    assert errors["A1"].startswith("MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError: The message is 2000000 bytes")
    assert len(errors["A1"]) == 500
    assert await pending(sessions) == [] and await relay.parked_count() == 3

    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR and record.name == "hub_shared.outbox"]
    assert len(lines) == 3, lines
    for label, line in zip(("A1", "A2", "A3"), lines):
        assert f"outbox row {ids[label]} to {CASES} (key case-A) parked: " in line
        assert f"Once the cause is fixed: hub outbox release --service intake --id {ids[label]}" in line
        assert "payload" not in line

    later = await stage(sessions, "B2", "A4")
    assert await relay.relay_batch() == (1, 1), "a later event of the parked case is held too; other cases flow"
    assert broker.delivered == ["B1", "C1", "B2"]
    assert (await parked(sessions))["A4"] == held and later["A4"] > ids["A1"]


async def test_released_rows_are_published_in_id_order_and_a_row_released_alone_is_held_again(relay, broker, sessions) -> None:
    ids = await stage(sessions, "A1", "A2", "B1", "A3")
    broker.refuse("A1", RecordTooLargeError("too large"))
    await relay.relay_batch()
    assert list(await parked(sessions)) == ["A1", "A2", "A3"]

    broker.refusals.clear()  # e.g. the broker's max message size was raised
    async with sessions() as session, session.begin():
        assert await release(session, [ids["A2"]]) == [ids["A2"]]
    assert await relay.relay_batch() == (0, 1), "A2 may not overtake A1, which is still parked"
    assert broker.delivered == ["B1"] and list(await parked(sessions)) == ["A1", "A2", "A3"]

    async with sessions() as session, session.begin():
        assert await release(session, None) == [ids["A1"], ids["A2"], ids["A3"]]
    assert await relay.relay_batch() == (3, 0)
    assert broker.delivered == ["B1", "A1", "A2", "A3"]
    assert await parked(sessions) == {} and await pending(sessions) == []


async def test_a_row_still_refused_after_release_parks_again(relay, broker, sessions) -> None:
    await stage(sessions, "A1", "A2")
    broker.refuse("A1", TopicAuthorizationFailedError(CASES))
    await relay.relay_batch()
    async with sessions() as session, session.begin():
        await release(session, None)
    assert await relay.relay_batch() == (0, 2)
    assert (await parked(sessions))["A1"].startswith("TopicAuthorizationFailedError")


@pytest.mark.parametrize("error", [KafkaConnectionError(), NotEnoughReplicasError(), KafkaTimeoutError(), ProducerClosed(), UnknownError()],
                         ids=lambda error: type(error).__name__)
@pytest.mark.parametrize("when", ["send", "answer"])
async def test_a_failure_that_may_pass_still_blocks_the_batch_and_is_retried(relay, broker, sessions, error, when) -> None:
    """Not every error aiokafka marks `retriable = False` is about the row: a timeout or a closed producer
    would park the whole outbox during an outage. Those block and retry, as before parking existed."""
    await stage(sessions, "B1", "A1", "C1", "A2")
    broker.refuse("A1", error, when)
    assert await relay.relay_batch() == (1, 0)
    assert broker.delivered[0] == "B1" and await parked(sessions) == {}
    assert await pending(sessions) == ["A1", "C1", "A2"], "nothing after the failed row is marked published"

    broker.refusals.clear()
    assert await relay.relay_batch() == (3, 0)
    assert broker.delivered[-3:] == ["A1", "C1", "A2"]


async def test_a_refusal_in_the_brokers_answer_parks_the_row_and_holds_its_case_from_then_on(relay, broker, sessions, caplog) -> None:
    """The broker answers after later rows were sent: a row of the same case already taken cannot be
    recalled (the relay says so), but every row of that case staged afterwards waits behind the parked one."""
    ids = await stage(sessions, "A1", "B1", "A2")
    broker.refuse("A1", MessageSizeTooLargeError(), when="answer")
    with caplog.at_level(logging.WARNING, logger="hub_shared.outbox"):
        assert await relay.relay_batch() == (2, 1)
    assert broker.delivered == ["B1", "A2"] and list(await parked(sessions)) == ["A1"]
    assert any(f"row {ids['A2']}" in r.getMessage() and f"refused row {ids['A1']}" in r.getMessage()
               for r in caplog.records if r.levelno == logging.WARNING)

    await stage(sessions, "A3")
    assert await relay.relay_batch() == (0, 1)
    assert (await parked(sessions))["A3"] == f"held behind row {ids['A1']} (same topic and key), which the broker refused"


async def test_the_same_key_on_another_topic_is_not_held(relay, broker, sessions) -> None:
    """Kafka orders a key within one topic only; a parked notification does not stop the case's facts."""
    await stage(sessions, "A1")
    async with sessions() as session, session.begin():
        session.add(OutboxMessage(event_id=str(uuid.uuid4()), topic="hub.notifications.v1", key="case-A", value=b"N1|x",
                                  headers={}, created_at=datetime.now(UTC)))
    broker.refuse("A1", InvalidTopicError())
    assert await relay.relay_batch() == (1, 1)
    assert broker.delivered == ["N1"]


@pytest.mark.parametrize("error,parks", [
    (MessageSizeTooLargeError(), True), (RecordTooLargeError(), True), (TopicAuthorizationFailedError("t"), True),
    (InvalidTopicError(), True), (KafkaTimeoutError(), False), (ProducerClosed(), False), (UnknownError(), False),
    (KafkaConnectionError(), False), (ValueError("not a broker error"), False),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value))
def test_only_refusals_of_the_record_or_its_topic_park(error, parks) -> None:
    assert refused_for_good(error) is parks
