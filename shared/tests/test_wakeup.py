"""Background loops sleep until a commit gives them work: the commit watch calls back after commits that
wrote a watched table (never before, never for a rollback), and the outbox relay, with a safety poll of a
minute, still publishes a committed row at once. The consumer's batch loop and fetch waits are tested here
with stand-ins for aiokafka's consumer."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import col, select
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from hub_shared import db
from faststream.kafka import KafkaBroker

from hub_shared.bus import BrokerIdentity
from hub_shared.consumer import FetchPace, Subscription, _records_of, subscribe
from hub_shared.messaging import OutboxMessage
from hub_shared.outbox import OutboxRelay
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.testing import RecordingBroker
from hub_shared.wakeup import Alarm, CommitWatch

CASES = "hub.cases.v1"
SAFETY_POLL = 60.0  # far beyond every wait below: whatever arrives, a wake-up brought it


@pytest.fixture
def watch() -> CommitWatch:
    return CommitWatch()


@pytest.fixture
async def sessions(tmp_path, watch):
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    async with engine.begin() as connection:
        await connection.run_sync(OutboxMessage.__table__.create)
    yield db.make_sessions(engine, watch.session_class)
    await engine.dispose()


def row(value: bytes = b"v") -> OutboxMessage:
    return OutboxMessage(event_id=str(uuid.uuid4()), topic=CASES, key="case-a", value=value, headers={}, created_at=datetime.now(UTC))


async def test_a_commit_that_wrote_a_watched_table_calls_back_after_the_commit(sessions, watch) -> None:
    seen: list[int] = []
    watch.on_commit("outbox", lambda: seen.append(1))
    async with sessions() as session, session.begin():
        session.add(row())
        await session.flush()
        assert seen == [], "not before the commit"
    assert len(seen) == 1


async def test_the_row_is_visible_to_other_sessions_when_the_callback_runs(sessions, watch) -> None:
    visible: list[asyncio.Task] = []
    watch.on_commit("outbox", lambda: visible.append(asyncio.ensure_future(_count(sessions))))
    async with sessions() as session, session.begin():
        session.add(row())
    assert [await task for task in visible] == [1]


async def _count(sessions) -> int:
    async with sessions() as session:
        return len((await session.exec(select(OutboxMessage))).all())


async def test_a_rollback_or_another_table_calls_nothing(sessions, watch) -> None:
    calls: list[str] = []
    watch.on_commit("outbox", lambda: calls.append("outbox"))
    watch.on_commit("followup_timer", lambda: calls.append("timer"))
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            session.add(row())
            await session.flush()
            raise RuntimeError("the use case changed its mind")
    assert calls == []
    async with sessions() as session, session.begin():
        session.add(row())
    async with sessions() as session, session.begin():
        await session.exec(select(OutboxMessage))  # a read writes nothing
    assert calls == ["outbox"]


async def test_statements_count_by_kind_and_only_the_watched_kinds_call(sessions, watch) -> None:
    inserts, writes = [], []
    watch.on_commit("outbox", lambda: inserts.append(1), writes={"insert"})
    watch.on_commit("outbox", lambda: writes.append(1))
    async with sessions() as session, session.begin():
        session.add(row())
    async with sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(published_at=datetime.now(UTC)))
    assert (len(inserts), len(writes)) == (1, 2)
    with pytest.raises(ValueError, match="unknown write"):
        watch.on_commit("outbox", lambda: None, writes={"upsert"})


async def test_an_alarm_rung_before_the_sleep_is_not_lost() -> None:
    alarm = Alarm()
    alarm.ring()
    assert await alarm.sleep(SAFETY_POLL) is True
    alarm.clear()
    assert await alarm.sleep(0.01) is False


async def test_the_relay_publishes_a_committed_row_without_waiting_for_its_safety_poll(sessions, watch) -> None:
    broker = RecordingBroker()
    relay = OutboxRelay(broker=broker, sessions=sessions, service="intake", batch_size=100, poll_seconds=SAFETY_POLL)
    watch.on_commit("outbox", relay.notify, writes={"insert"})
    relay.start()
    try:
        await asyncio.sleep(0.2)  # its first pass found nothing: it sleeps
        async with sessions() as session, session.begin():
            session.add(row(b"filed"))
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
            with attempt:
                assert broker.delivered == [b"filed"]
        async with sessions() as session:
            assert (await session.exec(select(col(OutboxMessage.published_at)))).one() is not None
    finally:
        await relay.stop()


async def test_a_service_wakes_its_relay_for_every_commit_through_its_sessions(tmp_path) -> None:
    from hub_shared.service import Runtime

    runtime = Runtime(HubSettings(service_name="intake", data_dir=tmp_path, outbox_poll_seconds=SAFETY_POLL), migrations=tmp_path)
    async with runtime.engine.begin() as connection:
        await connection.run_sync(OutboxMessage.__table__.create)
    broker = RecordingBroker()
    relay = runtime.relay
    relay._broker, relay._identity = broker, None  # the runtime's own relay, with a stand-in broker and no identity checks
    relay.start()
    try:
        await asyncio.sleep(0.2)
        async with runtime.sessions() as session, session.begin():
            session.add(row(b"staged"))  # no `runtime.committed()`: the commit itself wakes the relay
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
            with attempt:
                assert broker.delivered == [b"staged"]
    finally:
        await relay.stop()
        await runtime.engine.dispose()


def test_the_safety_poll_and_the_idle_fetch_wait_are_validated() -> None:
    assert HubSettings().outbox_poll_seconds == 5.0
    with pytest.raises(ValidationError, match="outbox_poll_seconds"):
        HubSettings(outbox_poll_seconds=0)
    with pytest.raises(ValidationError, match="kafka_idle_fetch_wait_ms"):
        HubSettings(kafka_idle_fetch_wait_ms=-1)
    assert HubSettings(kafka_profile=KafkaProfile.embedded).idle_fetch_wait_ms() == 2000
    assert HubSettings(kafka_profile=KafkaProfile.test).idle_fetch_wait_ms() == 20, "tests keep their short waits"
    assert HubSettings(kafka_profile=KafkaProfile.embedded, kafka_idle_fetch_wait_ms=300).idle_fetch_wait_ms() == 300


class Fetcher:
    _fetch_max_wait_ms = 2000


class Consumer:
    def __init__(self, batches: list[dict]) -> None:
        self._fetcher = Fetcher()
        self.batches = batches
        self.timeouts: list[int] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
        self.timeouts.append(timeout_ms)
        return self.batches.pop(0)


class Subscriber:
    def __init__(self, consumer: Consumer | None) -> None:
        self.consumer = consumer


async def test_the_batch_loop_asks_again_at_once_when_a_wait_ends_empty(monkeypatch) -> None:
    import anyio

    async def no_sleep(_seconds: float) -> None:
        raise AssertionError("slept after an empty wait: records arriving meanwhile would wait too")

    monkeypatch.setattr(anyio, "sleep", no_sleep)
    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    consumer = Consumer([{}, {"tp-0": ["r1", "r2"], "tp-1": ["r3"]}])
    get_batch = _records_of(200)
    assert await get_batch(consumer) == ()
    assert await get_batch(consumer) == ("r1", "r2", "r3")
    assert min(consumer.timeouts) >= 10_000, "a long wait: aiokafka returns as soon as records come"


async def test_records_shorten_the_fetch_wait_and_a_quiet_spell_lengthens_it_again() -> None:
    consumer = Consumer([])
    pace = FetchPace(Subscriber(consumer), busy_ms=50, idle_ms=2000, quiet_seconds=0.2)
    assert pace.wait_ms == 2000
    pace.records_arrived()
    assert pace.wait_ms == 50
    await asyncio.sleep(0.1)
    pace.records_arrived()  # still flowing: the quiet spell starts again
    await asyncio.sleep(0.15)
    assert pace.wait_ms == 50
    async for attempt in AsyncRetrying(stop=stop_after_delay(5), wait=wait_fixed(0.05), reraise=True):
        with attempt:
            assert pace.wait_ms == 2000


async def test_the_pace_leaves_a_consumer_alone_before_it_starts_and_when_both_waits_agree() -> None:
    FetchPace(Subscriber(None), busy_ms=50, idle_ms=2000).records_arrived()  # nothing to set yet; no error
    consumer = Consumer([])
    pace = FetchPace(Subscriber(consumer), busy_ms=20, idle_ms=20)
    consumer._fetcher._fetch_max_wait_ms = 20
    pace.records_arrived()
    assert pace.wait_ms == 20


async def test_a_partial_batch_waits_its_linger_for_the_records_behind_it(monkeypatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    consumer = Consumer([{"tp-0": ["r1"]}, {"tp-0": ["r2"], "tp-1": ["r3"]}, {"tp-0": list(range(200))}])
    get_batch = _records_of(200, linger_seconds=0.05)
    assert await get_batch(consumer) == ("r1", "r2", "r3"), "one batch, partition 0 still in order"
    assert slept == [0.05] and consumer.timeouts[1] == 0, "after the linger, what has come is taken without waiting"
    assert len(await get_batch(consumer)) == 200 and slept == [0.05], "a full batch goes at once"


def test_the_linger_is_the_profiles_unless_set() -> None:
    assert HubSettings(kafka_profile=KafkaProfile.embedded).consumer_linger_seconds() == 0.05
    assert HubSettings(kafka_profile=KafkaProfile.test).consumer_linger_seconds() == 0, "tests keep their short hops"
    assert HubSettings(kafka_profile=KafkaProfile.production, consumer_linger_ms=0).consumer_linger_seconds() == 0
    with pytest.raises(ValidationError, match="consumer_linger_ms"):
        HubSettings(consumer_linger_ms=5000)


def test_a_group_nobody_waits_on_lingers_longer_and_fetches_less_often() -> None:
    embedded = HubSettings(kafka_profile=KafkaProfile.embedded)
    assert (embedded.consumer_linger_seconds(prompt=False), embedded.busy_fetch_wait_ms(prompt=False)) == (0.25, 250)
    assert (embedded.consumer_linger_seconds(), embedded.busy_fetch_wait_ms()) == (0.05, 50), "a citizen's path keeps short hops"
    tests = HubSettings(kafka_profile=KafkaProfile.test)
    assert (tests.consumer_linger_seconds(prompt=False), tests.busy_fetch_wait_ms(prompt=False)) == (0, 20), "tests keep their short hops"
    chosen = HubSettings(kafka_profile=KafkaProfile.production, consumer_background_linger_ms=10)
    assert (chosen.consumer_linger_seconds(prompt=False), chosen.busy_fetch_wait_ms(prompt=False)) == (0.01, 50), \
        "a fetch never waits less than the profile's short wait"
    with pytest.raises(ValidationError, match="consumer_background_linger_ms"):
        HubSettings(consumer_background_linger_ms=-1)


async def test_each_subscription_lingers_as_its_kind_says(monkeypatch) -> None:
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", record_sleep)
    for prompt, linger in ((True, 0.05), (False, 0.25)):
        broker = KafkaBroker("127.0.0.1:1")
        subscribe(broker, HubSettings(kafka_profile=KafkaProfile.embedded), sessions=None,
                  sub=Subscription(topic=CASES, group="group", prompt=prompt), identity=BrokerIdentity("127.0.0.1:1"))
        [subscriber] = broker.subscribers
        assert await subscriber.get_msg(Consumer([{"tp-0": ["r1"]}, {}])) == ("r1",)
        assert slept.pop() == linger


async def test_a_settling_alarm_lets_the_commits_behind_the_first_gather() -> None:
    alarm = Alarm(settle_seconds=0.2)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, alarm.ring)
    started = loop.time()
    assert await alarm.sleep(5) is True
    assert 0.2 <= loop.time() - started < 2, "woken by the ring, then the settling wait"
    alarm.clear()
    assert await alarm.sleep(0.05) is False, "not rung: the timeout, no settling"
