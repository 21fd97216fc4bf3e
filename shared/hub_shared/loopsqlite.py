"""SQLite on the event loop's own thread, shaped like an aiosqlite connection for SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a thread of its own and hands the result back:
two thread switches a call, five or more a statement. Measured on the 2-core machine the benchmarks run on, a pooled
connection's `SELECT` by primary key cost 0.7-0.9 ms of CPU through aiosqlite and 0.11 ms through the same
SQLAlchemy code on the synchronous driver; at 10 cases/s the services spent most of their CPU switching threads.
A local SQLite statement takes microseconds, so here it simply runs where it is awaited.

The one thing a thread was good for is waiting for another connection's write lock. Blocking the loop on it would
stall the very transaction holding the lock, so these connections never let SQLite wait (busy timeout 0): a
statement that finds the database locked is tried again after a short asynchronous pause, with the loop free,
until `lock_wait_seconds` have passed; then it fails with SQLite's own "database is locked", as a waiting
connection would have. A write that cannot succeed by waiting (a snapshot older than the last commit,
SQLITE_BUSY_SNAPSHOT) fails at once.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
SQLITE_BUSY = 5  # SQLITE_BUSY_SNAPSHOT (517) and the other extended codes are not waited for
FIRST_PAUSE, LONGEST_PAUSE = 0.001, 0.05


async def connect(path: str, lock_wait_seconds: float) -> "Connection":
    """The `async_creator` of an engine on the SQLite file at `path`."""
    return Connection(sqlite3.connect(path, timeout=0, check_same_thread=False), lock_wait_seconds)


class _RunNow:
    """What SQLAlchemy's dialect puts on an aiosqlite connection's work queue (`_tx`): a future and a call. Here the
    call runs at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future | None, Callable[[], Any]]) -> None:
        future, call = item
        try:
            result = call()
        except BaseException as error:  # handed to the awaiting caller, as aiosqlite's thread would
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class Connection:
    def __init__(self, connection: sqlite3.Connection, lock_wait_seconds: float) -> None:
        self._conn = connection
        self._tx = _RunNow()
        self._lock_wait = lock_wait_seconds

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    async def cursor(self) -> "Cursor":
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        cursor = await self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self.waiting_for_lock(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        """SQLAlchemy's forced close of a connection it gave up on."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def waiting_for_lock(self, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + self._lock_wait, FIRST_PAUSE
        while True:
            try:
                return call()
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorcode", None) != SQLITE_BUSY or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


class Cursor:
    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        await self._connection.waiting_for_lock(lambda: self._cursor.execute(sql, parameters if parameters is not None else ()))
        return self

    async def executemany(self, sql: str, rows: Iterable[Any]) -> "Cursor":
        rows = list(rows)  # a retry needs them again
        await self._connection.waiting_for_lock(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid
