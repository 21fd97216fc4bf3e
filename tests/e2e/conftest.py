"""The whole hub as separate processes, on SQLite files and on PostgreSQL databases."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

from hub_cli.stack import SERVICES, Stack, ensure_topics, free_port, start_broker
from hub_shared.db import ensure_database
from tests.conftest import SERVICE_DRIVER, drop_postgres_databases


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hub(request, tmp_path_factory) -> Iterator[Stack]:
    with running_hub(request, tmp_path_factory, request.param) as stack:
        yield stack


@contextmanager
def running_hub(request, tmp_path_factory, backend: str) -> Iterator[Stack]:
    """The broker (unless external) and the five services on `backend` ("sqlite" or "postgres"), ready."""
    data_dir = tmp_path_factory.mktemp(f"hub-{backend}")
    database_urls: dict[str, str] = {}
    if backend == "postgres":
        admin = request.getfixturevalue("postgres_admin_url")
        base = make_url(admin).set(drivername=SERVICE_DRIVER).render_as_string(hide_password=False).rsplit("/", 1)[0]
        suffix = uuid.uuid4().hex[:8]
        database_urls = {spec.name: f"{base}/hub_e2e_{spec.name.replace('-', '_')}_{suffix}" for spec in SERVICES}
        for url in database_urls.values():
            ensure_database(url)
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        port = free_port()
        broker = start_broker(port, data_dir / "logs" / "broker.log")
        bootstrap = f"127.0.0.1:{port}"
    ensure_topics(bootstrap)
    # the tests poll from one address far faster than a citizen would: lift the per-address limits; and they read
    # the traces of cases filed among bursts of page loads and polls, so every trace is kept (the cap on new traces a
    # second has tests of its own)
    stack = Stack(data_dir=data_dir, bootstrap=bootstrap, env={
        "HUB_KAFKA_PROFILE": "test", "HUB_PUBLIC_REQUESTS_PER_MINUTE": "1000000", "HUB_LOOKUP_MISSES_ALLOWED": "1000000",
        "HUB_INTAKE_SUBMISSIONS_PER_CITIZEN_PER_DAY": "1000000", "HUB_INTAKE_RATINGS_PER_ADDRESS_PER_HOUR": "1000000",
        "HUB_INTAKE_RATING_RELEASE_SECONDS": "1", "HUB_TRACES_PER_SECOND": "1000000"})
    for spec in SERVICES:
        extra = {"DATABASE_URL": database_urls[spec.name]} if database_urls else {}
        stack.start_service(spec, port=free_port(), extra_env=extra)
    stack.database_urls = database_urls
    try:
        stack.wait_ready(timeout=90)
        yield stack
    finally:
        stack.stop()
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        if database_urls:
            drop_postgres_databases(admin, [url.rsplit("/", 1)[1] for url in database_urls.values()])


@pytest.fixture(scope="module")
def portal_hub(request, tmp_path_factory) -> Iterator[Stack]:
    """The hub on SQLite with the citizen's portal in front of it (the browser tests)."""
    with running_hub(request, tmp_path_factory, "sqlite") as stack:
        stack.start_web(free_port())
        stack.wait_ready(["web"], timeout=30)
        yield stack
