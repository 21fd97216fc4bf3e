"""SQLite writes of one process take turns in arrival order.

SQLite lets one connection write at a time. A connection that finds the write lock taken sleeps and looks again
(its busy handler: 1, 2, 5, ... then 100 ms between looks), and whoever looks first after the lock is freed gets
it, so under a steady flow of writes one writer can lose for a long time: the outbox relay's one-row
`UPDATE ... published_at` was seen waiting 1.1 s at 100 cases/s while registrations, consumer batches and
notification updates took the lock past it, and every case behind it waited as long.

Here each connection of the process queues for the file's turn (an `asyncio.Lock`, first come first served)
before its first write statement, and gives the turn back when its transaction ends. Within the process the
lock is then always free when a connection reaches it; SQLite's own lock and busy handler still order this
process against others (a `hub` CLI command writing the same file). Reads take no turn: WAL lets them go on
beside the writer.

A write that waits longer than the engine's `lock_wait_seconds` fails as SQLite would ("database is locked"),
having changed nothing, so callers keep their handling of a lock held too long (`hub_shared.db.is_locked`).
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiosqlite

WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "BEGIN"})

_turns: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}


def _turn(path: str) -> asyncio.Lock:
    """The turn of `path` for the running loop (tests run one loop after another in a process)."""
    loop = asyncio.get_running_loop()
    held = _turns.get(path)
    if held is None or held[0] is not loop:
        held = _turns[path] = (loop, asyncio.Lock())
    return held[1]


def writes(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in WRITES if sql.strip() else False


class TurnTakingConnection(aiosqlite.Connection):
    """An aiosqlite connection whose writes wait for the file's turn (see the module's docstring)."""

    def __init__(self, path: str, wait_seconds: float) -> None:
        super().__init__(partial(sqlite3.connect, path, timeout=wait_seconds), iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy's own aiosqlite connections: a process may exit with one open
        self._path, self._wait_seconds = path, wait_seconds
        self._turn: asyncio.Lock | None = None  # the file's turn while this connection holds it

    async def cursor(self) -> "TurnTakingCursor":  # type: ignore[override]  # SQLAlchemy only awaits it
        return TurnTakingCursor(self, await self._execute(self._conn.cursor))

    async def execute(self, sql: str, parameters: Any = None) -> aiosqlite.Cursor:  # type: ignore[override]
        cursor = await self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        try:
            await super().commit()
        finally:
            self._after_statement()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._after_statement()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._give_back()

    def stop(self) -> asyncio.Future | None:
        """Closing without waiting (SQLAlchemy's terminate, or a connection collected unclosed): the transaction
        ends with the connection, and so does its turn."""
        self._give_back()
        return super().stop()

    async def _take_turn(self, sql: str) -> None:
        if self._turn is not None or not writes(sql):
            return
        turn = _turn(self._path)
        try:
            await asyncio.wait_for(turn.acquire(), self._wait_seconds)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._turn = turn

    def _after_statement(self) -> None:
        """Give the turn back once no transaction is open: after a commit or rollback, or a write that failed
        before it began one."""
        if self._turn is not None and (self._connection is None or not self._connection.in_transaction):
            self._give_back()

    def _give_back(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()


class TurnTakingCursor(aiosqlite.Cursor):
    _conn: TurnTakingConnection

    async def execute(self, sql: str, parameters: Any = None) -> "TurnTakingCursor":
        return await self._in_turn(sql, super().execute, parameters)

    async def executemany(self, sql: str, parameters: Any) -> "TurnTakingCursor":
        return await self._in_turn(sql, super().executemany, parameters)

    async def _in_turn(self, sql: str, run: Callable[[str, Any], Awaitable[Any]], parameters: Any) -> "TurnTakingCursor":
        await self._conn._take_turn(sql)
        try:
            await run(sql, parameters)
        finally:
            self._conn._after_statement()
        return self


async def connect(path: str, wait_seconds: float) -> TurnTakingConnection:
    """For `create_async_engine(async_creator=...)`."""
    return await TurnTakingConnection(path, wait_seconds)
