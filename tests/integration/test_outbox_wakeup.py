"""Two replicas of one service on PostgreSQL, each relay with a safety poll of a minute: a row committed by one
replica while the other replica's relay holds the outbox lock is still published once the lock is free,
without waiting for the safety poll (the holder may have looked before the row committed)."""

import asyncio
import uuid
import zlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from hub_shared import db
from hub_shared.messaging import OutboxMessage
from hub_shared.outbox import OutboxRelay
from hub_shared.testing import RecordingBroker
from hub_shared.wakeup import CommitWatch

SAFETY_POLL = 60.0


def replica(engine, broker: RecordingBroker):
    """One process's sessions and relay, woken by its own commits."""
    watch = CommitWatch()
    sessions = db.make_sessions(engine, watch.session_class)
    relay = OutboxRelay(broker=broker, sessions=sessions, service="routing", batch_size=100, poll_seconds=SAFETY_POLL)
    watch.on_commit(OutboxMessage.__tablename__, relay.notify, writes={"insert"})
    return sessions, relay


@pytest.mark.postgres
async def test_a_row_committed_while_another_replica_holds_the_lock_goes_once_the_lock_is_free(postgres_database) -> None:
    engine = db.make_engine(postgres_database)
    async with engine.begin() as connection:
        await connection.run_sync(OutboxMessage.__table__.create)
    broker = RecordingBroker()
    sessions, relay = replica(engine, broker)
    holder = db.make_sessions(engine)
    relay.start()
    try:
        await asyncio.sleep(0.3)  # its first pass found nothing: it sleeps
        async with holder() as other_replica, other_replica.begin():  # another replica's relay, mid-pass
            await other_replica.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": zlib.crc32(b"outbox:routing")})
            async with sessions() as session, session.begin():
                session.add(OutboxMessage(event_id=str(uuid.uuid4()), topic="hub.cases.v1", key="case-a", value=b"filed",
                                          headers={}, created_at=datetime.now(UTC)))
            await asyncio.sleep(0.5)  # this replica's relay was woken and found the lock taken
            assert broker.delivered == []
        async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
            with attempt:
                assert broker.delivered == [b"filed"]
        async with sessions() as session:
            assert (await session.exec(select(OutboxMessage.published_at))).one() is not None
    finally:
        await relay.stop()
        await engine.dispose()
