"""Real parts for the integration and end-to-end tiers: a Kafka-protocol broker and PostgreSQL.

- Broker: `KAFKA_BOOTSTRAP_SERVERS` when set, otherwise a tansu process this session starts.
- PostgreSQL: `HUB_TEST_POSTGRES_URL` when set, otherwise 127.0.0.1:5432 when it answers. Without
  one the PostgreSQL tests are skipped and the run says so loudly; with `HUB_REQUIRE_POSTGRES=1`
  (CI sets it) a missing server fails the run instead.
"""

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub_cli.stack import ensure_topics, free_port, start_broker
from hub_shared.db import sync_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"  # the admin's, a synchronous driver
SERVICE_DRIVER = "postgresql+asyncpg"  # the services' own, as deployed
_skipped_postgres: list[str] = []


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        ensure_topics(external)
        yield external
        return
    port = free_port()
    process = start_broker(port, tmp_path_factory.mktemp("broker") / "tansu.log")
    bootstrap = f"127.0.0.1:{port}"
    ensure_topics(bootstrap)
    yield bootstrap
    process.terminate()
    process.wait(10)


def _postgres_admin_url() -> str | None:
    url = os.environ.get("HUB_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return DEFAULT_POSTGRES
    except OSError:
        return None


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> str:
    url = _postgres_admin_url()
    if url is None:
        reason = "no PostgreSQL: set HUB_TEST_POSTGRES_URL or run one on 127.0.0.1:5432"
        if os.environ.get("HUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (HUB_REQUIRE_POSTGRES=1 makes this a failure)")
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    yield from fresh_postgres_database(postgres_admin_url)


def fresh_postgres_database(admin_url: str, prefix: str = "hub_test") -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(drivername=SERVICE_DRIVER, database=name).render_as_string(hide_password=False)
    admin.dispose()
    try:
        yield url
    finally:
        drop_postgres_databases(admin_url, [name])


def drop_postgres_databases(admin_url: str, names: list[str]) -> None:
    """Drop the test's databases from the shared server, connections and all."""
    admin = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    postgres = [report for report in skipped if "PostgreSQL" in str(report.longrepr)]
    if postgres:
        terminalreporter.write_sep("!", f"{len(postgres)} PostgreSQL tests SKIPPED: no server reachable", red=True, bold=True)
        for report in postgres:
            terminalreporter.write_line(f"  skipped: {report.nodeid}")
        terminalreporter.write_line("  Set HUB_TEST_POSTGRES_URL or start PostgreSQL on 127.0.0.1:5432 to run them.")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
