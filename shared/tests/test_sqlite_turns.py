"""SQLite writes of one process take turns in arrival order (`hub_shared.sqlite_turns`): a writer that waits is not
passed by one that came later, a write that waits too long fails as SQLite's own lock would, the turn comes back
however a transaction ends, and reads never wait for it."""

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from hub_shared import db

metadata = MetaData()
steps = Table("turn_steps", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
              Column("label", String(16), unique=True))


@pytest.fixture
async def engines(tmp_path):
    """As a service has them: the main engine and the HTTP edge's, on one file, the edge waiting less."""
    url = f"sqlite+aiosqlite:///{tmp_path}/turns.db"
    main, edge = db.make_engine(url), db.make_engine(url, lock_wait_seconds=0.5)
    async with main.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield main, edge
    await main.dispose()
    await edge.dispose()


async def labels(engine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(steps.c.label).order_by(steps.c.id))).scalars())


async def write(engine, label: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(steps).values(label=label))


async def test_a_waiting_writer_goes_before_a_later_one(engines):
    main, edge = engines
    first = await main.connect()
    transaction = await first.begin()
    await first.execute(insert(steps).values(label="first"))  # holds the write
    waiting = asyncio.create_task(write(edge, "waiting"))
    await asyncio.sleep(0.2)  # the edge's write has queued behind it
    assert not waiting.done()
    await transaction.commit()
    await first.close()
    await write(main, "later")  # came after the waiting one: SQLite's busy handler would let it pass
    await waiting
    assert await labels(main) == ["first", "waiting", "later"]


async def test_a_write_that_waits_too_long_fails_as_locked_and_stores_nothing(engines):
    main, edge = engines
    async with main.begin() as holder:
        await holder.execute(insert(steps).values(label="held"))
        with pytest.raises(Exception) as refused:
            await write(edge, "refused")  # the edge waits at most 0.5 s
        assert db.is_locked(refused.value)
    assert await labels(main) == ["held"]


async def test_the_turn_comes_back_after_a_failed_write_a_rollback_and_a_close(engines):
    main, edge = engines
    await write(main, "one")
    with pytest.raises(IntegrityError):
        await write(main, "one")  # unique label: the transaction fails and is rolled back
    await write(edge, "after-failure")

    connection = await main.connect()
    await connection.begin()
    await connection.execute(insert(steps).values(label="rolled-back"))
    await connection.rollback()
    await connection.close()
    await write(edge, "after-rollback")

    connection = await main.connect()
    await connection.begin()
    await connection.execute(insert(steps).values(label="closed"))
    await connection.close()  # returned to the pool mid-transaction: rolled back
    await write(edge, "after-close")
    assert await labels(main) == ["one", "after-failure", "after-rollback", "after-close"]


async def test_reads_do_not_wait_for_the_writer(engines):
    main, edge = engines
    await write(main, "committed")
    async with main.begin() as holder:
        await holder.execute(insert(steps).values(label="uncommitted"))
        assert await labels(edge) == ["committed"]  # a read that waited for the turn would fail after 0.5 s
