"""SQLite on the event loop's thread: a statement that finds the write lock taken waits without blocking the loop (the
transaction holding the lock goes on and commits), gives up with SQLite's "database is locked" after the engine's
lock wait, and a write on a snapshot another commit overtook fails at once."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hub_shared.db import is_locked, make_engine


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'locks.db'}", lock_wait_seconds=2)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        await connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    await engine.dispose()


async def _add_one(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))


async def test_a_writer_waits_for_the_lock_while_its_holder_goes_on_on_the_same_loop(engine) -> None:
    holder_has_lock, holder_may_commit = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE counter SET n = n + 10 WHERE id = 1"))
            holder_has_lock.set()
            await holder_may_commit.wait()  # only the loop can set this: a blocked loop would never get here

    holding = asyncio.create_task(holder())
    await holder_has_lock.wait()
    waiting = asyncio.create_task(_add_one(engine))
    await asyncio.sleep(0.1)
    assert not waiting.done(), "the second writer waits for the lock"
    holder_may_commit.set()
    await asyncio.wait_for(asyncio.gather(holding, waiting), timeout=5)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT n FROM counter"))).scalar() == 11


async def test_the_wait_ends_with_database_is_locked_after_the_lock_wait(engine) -> None:
    release = asyncio.Event()

    async def holder() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE counter SET n = n + 10 WHERE id = 1"))
            await release.wait()

    holding = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    with pytest.raises(OperationalError) as refused:
        await _add_one(engine)
    assert is_locked(refused.value)
    assert 1.5 <= asyncio.get_running_loop().time() - started < 4, "about the engine's lock wait (2 s)"
    release.set()
    await holding


async def test_a_write_on_an_overtaken_snapshot_fails_at_once(engine) -> None:
    async with engine.connect() as reader:
        await reader.execute(text("BEGIN"))
        await reader.execute(text("SELECT n FROM counter"))  # its snapshot starts here
        await _add_one(engine)  # another connection commits after it
        started = asyncio.get_running_loop().time()
        with pytest.raises(OperationalError):
            await reader.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        assert asyncio.get_running_loop().time() - started < 1, "no waiting can make this write succeed"
        await reader.rollback()
