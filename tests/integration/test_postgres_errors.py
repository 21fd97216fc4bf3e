"""Which PostgreSQL failures a consumer retries (the batch is fetched again later) and which it dead-letters, the same
through either driver a deployment may name in its URL: psycopg reports a deadlock or a shutdown as OperationalError,
asyncpg as a plain DBAPIError carrying the same SQLSTATE."""

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub_shared import db
from hub_shared.consumer import is_transient

DRIVERS = ["postgresql+asyncpg", "postgresql+psycopg"]


async def failure_of(url: str, driver: str, statements: str | tuple[str, ...]) -> BaseException:
    """The error of running `statements` in one transaction."""
    engine = db.make_engine(make_url(url).set(drivername=driver).render_as_string(hide_password=False))
    try:
        async with engine.begin() as connection:
            for statement in (statements,) if isinstance(statements, str) else statements:
                await connection.execute(text(statement))
    except Exception as error:  # noqa: BLE001 - the failure is what the test reads
        return error
    finally:
        await engine.dispose()
    raise AssertionError(f"{statements!r} did not fail")


def raising(condition: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{condition}'; END $$"


@pytest.mark.postgres
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("statement", [
    raising("serialization_failure"), raising("deadlock_detected"), raising("admin_shutdown"), raising("too_many_connections"),
    raising("lock_not_available"), ("SET LOCAL statement_timeout = '20ms'", "SELECT pg_sleep(2)"),
], ids=["serialization", "deadlock", "shutdown", "too-many-connections", "lock-not-available", "statement-timeout"])
async def test_failures_that_pass_with_time_are_retried(postgres_database: str, driver: str, statement: str) -> None:
    assert is_transient(await failure_of(postgres_database, driver, statement))


@pytest.mark.postgres
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("statement", [
    raising("raise_exception"), raising("unique_violation"), "SELECT 1 / 0", "SELECT * FROM no_such_table",
], ids=["raised-by-a-trigger", "unique-violation", "division-by-zero", "no-such-table"])
async def test_failures_of_the_event_itself_are_not(postgres_database: str, driver: str, statement: str) -> None:
    assert not is_transient(await failure_of(postgres_database, driver, statement))
