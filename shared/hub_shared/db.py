"""Database engines (SQLite for the embedded default, PostgreSQL in production) and migrations."""

import zlib
from functools import partial
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared import pending, sqlite_turns

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, lock_wait_seconds: float = 30) -> AsyncEngine:
    """`hide_parameters`: SQL errors must not carry personal data into logs, traces or DLQ headers.
    `lock_wait_seconds`: on SQLite, how long a write waits for another connection's write to end before it
    fails with "database is locked" (PostgreSQL writers wait only for the rows they share); within the process,
    writes wait in arrival order (`hub_shared.sqlite_turns`)."""
    if is_sqlite(url):
        path = Path(url.split("///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, async_creator=partial(sqlite_turns.connect, str(path.resolve()), lock_wait_seconds),
                                     hide_parameters=True)
        event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms=int(lock_wait_seconds * 1000)))
        # Objects added to a session are written one INSERT ... RETURNING per table, as on PostgreSQL. SQLAlchemy does not
        # assume on SQLite that one multi-row INSERT numbers its rows in the order given, so it wrote a row a statement
        # (each a thread hop, with the write lock held) to match each new id to its object; SQLite does number them so
        # (each row gets one more than the largest rowid), and this lets it sort the returned ids instead.
        engine.sync_engine.dialect.insertmanyvalues_implicit_sentinel = InsertmanyvaluesSentinelOpts.ANY_AUTOINCREMENT
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True)


def is_locked(error: BaseException) -> bool:
    """SQLite gave up waiting for another connection's write (`lock_wait_seconds`)."""
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def _sqlite_pragmas(dbapi_connection, _record, busy_ms: int) -> None:
    # WAL lets the HTTP side read while a consumer writes; NORMAL sync is durable in WAL mode.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


def make_sessions(engine: AsyncEngine, session_class: type[Session] | None = None) -> SessionFactory:
    """`session_class`: the synchronous session under each AsyncSession, e.g. a `hub_shared.wakeup.CommitWatch`'s.
    Its sessions write rows added with `hub_shared.pending.add_row` in one statement per table."""
    if session_class is None:
        session_class = type("HubSession", (AsyncSession.sync_session_class,), {})
    pending.install(session_class)
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=session_class)


def sync_url(url: str) -> str:
    """Alembic runs synchronously: the same database through a synchronous driver."""
    return url.replace("sqlite+aiosqlite", "sqlite").replace("postgresql+asyncpg", "postgresql+psycopg")


def migrate(url: str, script_location: Path) -> None:
    """Bring the service's database to the newest revision of its own migrations."""
    if is_sqlite(url):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", sync_url(url))
    command.upgrade(config, "head")


async def sole_worker(session: AsyncSession, name: str) -> bool:
    """Whether this process is the only one doing `name` right now, across replicas: a PostgreSQL advisory lock
    taken in `session`'s open transaction and released when it ends (or when the connection dies with the
    process). On SQLite one process owns the file, so the answer is yes."""
    if is_sqlite(str(session.bind.url)):
        return True
    locked = await session.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": zlib.crc32(name.encode())})
    return bool(locked.scalar())


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist (SQLite files create themselves)."""
    if is_sqlite(url):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()
