"""A span per SQL statement: under the span current when it ran, named by its verb and database, with the statement
(placeholders, never values) and, on failure, the error type only; none while instrumentation is suppressed (an
untraced endpoint), and one only however often an engine is given."""

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hub_shared.db import make_engine
from hub_shared.dbspans import trace_statements

NATIONAL_ID = "0012345678"


@pytest.fixture
def traced(tmp_path):
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'spans.db'}")
    trace_statements(engine.sync_engine, provider)
    trace_statements(engine.sync_engine, provider)  # a second call adds nothing
    return engine, provider.get_tracer("test"), spans


async def test_statements_are_children_of_the_current_span_with_no_values(traced) -> None:
    engine, tracer, spans = traced
    with tracer.start_as_current_span("consumer batch") as parent:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE person (national_id TEXT PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO person VALUES (:id)"), {"id": NATIONAL_ID})
            await connection.execute(text("SELECT national_id FROM person WHERE national_id = :id"), {"id": NATIONAL_ID})
    statements = [span for span in spans.get_finished_spans() if span.name != "consumer batch"]
    assert [span.name for span in statements] == ["CREATE " + engine.url.database, "INSERT " + engine.url.database,
                                                  "SELECT " + engine.url.database]
    assert all(span.parent.span_id == parent.get_span_context().span_id and span.kind is SpanKind.CLIENT for span in statements)
    assert statements[1].attributes["db.statement"] == "INSERT INTO person VALUES (?)"
    assert statements[1].attributes["db.system"] == "sqlite"
    assert not [span for span in statements if NATIONAL_ID in str(dict(span.attributes))]
    await engine.dispose()


async def test_a_failed_statement_says_its_error_type_not_its_message(traced) -> None:
    engine, _, spans = traced
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE person (national_id TEXT PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO person VALUES (:id)"), {"id": NATIONAL_ID})
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO person VALUES (:id)"), {"id": NATIONAL_ID})
    failed = spans.get_finished_spans()[-1]
    assert failed.name.startswith("INSERT") and failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "IntegrityError"
    assert NATIONAL_ID not in str(failed.status.description) + str(dict(failed.attributes))
    await engine.dispose()


async def test_no_span_while_instrumentation_is_suppressed(traced) -> None:
    engine, _, spans = traced
    with suppress_instrumentation():
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 2"))
    assert [span.attributes["db.statement"] for span in spans.get_finished_spans()] == ["SELECT 2"]
    await engine.dispose()
