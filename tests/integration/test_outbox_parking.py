"""Parking against the real broker and PostgreSQL: an event too big to publish parks, with its case's later
event behind it, while the next case's event is delivered; readiness and `hub outbox parked` show it.
Every service's migration adds the parking columns on SQLite and PostgreSQL, and takes them away again.

The embedded tansu 0.6 accepts records of any size (20 MB tested), so the refusal here is the producer's
own: every service's producer refuses a record over `max_request_size` (HUB_MAX_MESSAGE_BYTES + 64 KB)
with MessageSizeTooLargeError, the error class Apache Kafka answers with for a record over its limit.
"""

import asyncio
import importlib
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from alembic import command
from alembic.config import Config
from sqlmodel import col, select
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed
from typer.testing import CliRunner

from hub_cli.main import app as hub
from hub_routing.app import create_runtime
from hub_shared import db
from hub_shared.events import CaseRejected
from hub_shared.messaging import OutboxMessage
from hub_shared.settings import HubSettings, KafkaProfile
from hub_shared.topics import CASES


def rejected(case_id: uuid.UUID, marker: str, reason_en: str = "test") -> CaseRejected:
    return CaseRejected(case_id=case_id, tracking_code=marker, reason_code="test", reason_fa="آزمون", reason_en=reason_en,
                        rejected_at=datetime.now(UTC))


async def delivered(bootstrap: str, marker: str) -> list[str]:
    """The keys of every record on hub.cases.v1 that carries `marker`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(CASES.name) or set(range(CASES.partitions))
        consumer.assign([TopicPartition(CASES.name, p) for p in partitions])
        await consumer.seek_to_beginning()
        ends = await consumer.end_offsets(consumer.assignment())
        keys = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                keys += [record.key.decode() for record in records if marker.encode() in record.value]
        return keys
    finally:
        await consumer.stop()


@pytest.mark.broker
@pytest.mark.postgres
async def test_an_event_too_big_to_publish_parks_while_the_next_case_is_delivered(postgres_database, kafka_bootstrap, tmp_path, caplog) -> None:
    runtime = create_runtime(HubSettings(service_name="routing", database_url=postgres_database, kafka_bootstrap_servers=kafka_bootstrap,
                                         kafka_profile=KafkaProfile.test, data_dir=tmp_path))
    runtime.migrate()
    marker = uuid.uuid4().hex[:11]
    case_a, case_b = uuid.uuid4(), uuid.uuid4()
    await runtime.broker.start()
    runtime.relay.start()
    try:
        with caplog.at_level(logging.ERROR, logger="hub_shared.outbox"):
            for event in (rejected(case_a, marker, reason_en="x" * 1_100_000), rejected(case_a, marker), rejected(case_b, marker)):
                async with runtime.sessions() as session, session.begin():
                    runtime.stage(session, event)
                runtime.committed()
            async for attempt in AsyncRetrying(stop=stop_after_delay(20), wait=wait_fixed(0.1), reraise=True,
                                               retry=retry_if_exception_type(AssertionError)):
                with attempt:
                    async with runtime.sessions() as session:
                        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
                    assert [(row.published_at is not None, row.parked_at is not None) for row in rows] == [(False, True), (False, True), (True, False)]
        assert await delivered(kafka_bootstrap, marker) == [str(case_b)], "the next case went through; nothing of case A did"

        big, held, _ = rows
        assert big.last_error.startswith("MessageSizeTooLargeError: [Error 10] MessageSizeTooLargeError: The message is ")
        assert len(big.last_error) <= 500 and "xxx" not in big.last_error
        assert held.last_error == f"held behind row {big.id} (same topic and key), which the broker refused"
        lines = [record.getMessage() for record in caplog.records if "parked" in record.getMessage()]
        assert [f"outbox row {row.id} to {CASES.name} (key {case_a}) parked" in line for row, line in zip((big, held), lines)] == [True, True]
        assert all("xxx" not in line and "آزمون" not in line for line in lines), "no payload in the log"

        app = runtime.app()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
            ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["outbox"]["parked"] == 2, ready.text

        listing = await asyncio.to_thread(CliRunner().invoke, hub, ["outbox", "parked", "--service", "routing", "--database-url", postgres_database],
                                          env={"COLUMNS": "240"})
        assert listing.exit_code == 0, listing.stdout
        assert "2 parked outbox rows" in listing.stdout and "MessageSizeTooLargeError" in listing.stdout
        assert f"held behind row {big.id}" in listing.stdout and CaseRejected.event_type in listing.stdout
    finally:
        await runtime.relay.stop()
        await runtime.broker.stop()
        await runtime.engine.dispose()


PARKING_REVISIONS = {"hub_intake": "0009", "hub_routing": "0004", "hub_followup": "0005", "hub_reporting": "0004", "hub_gateway": "0003"}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("package", sorted(PARKING_REVISIONS))
def test_every_service_migrates_its_outbox_for_parking_and_back(package, backend, request, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/{package}.db" if backend == "sqlite" else request.getfixturevalue("postgres_database")
    config = Config()
    config.set_main_option("script_location", str(Path(importlib.import_module(package).__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", db.sync_url(url))
    command.upgrade(config, "head")
    assert outbox_schema(url) == ({"parked_at", "last_error"}, {"ix_outbox_pending", "ix_outbox_parked"})
    revision = PARKING_REVISIONS[package]
    command.downgrade(config, f"{int(revision) - 1:04d}")
    assert outbox_schema(url) == (set(), set())
    command.upgrade(config, "head")
    assert outbox_schema(url) == ({"parked_at", "last_error"}, {"ix_outbox_pending", "ix_outbox_parked"})


def outbox_schema(url: str) -> tuple[set[str], set[str]]:
    """The parking columns and indexes the outbox has."""
    engine = sa.create_engine(db.sync_url(url))
    try:
        inspector = sa.inspect(engine)
        columns = {column["name"] for column in inspector.get_columns("outbox")} & {"parked_at", "last_error"}
        indexes = {index["name"] for index in inspector.get_indexes("outbox")} & {"ix_outbox_pending", "ix_outbox_parked"}
        return columns, indexes
    finally:
        engine.dispose()
