"""A client span per SQL statement an engine runs, child of whatever span is current (the request, the consumer batch,
the relay pass).

OpenTelemetry's SQLAlchemy instrumentation did this before. It also wrapped every `Engine.connect` in a span of its
own (a quarter of all database spans, saying only that a pooled connection was taken), parsed the engine's URL again
for every statement, and, being global, instrumented only the first engine of a process: the intake's registrations,
written through the second engine (`Runtime.edge_engine`), left no statement spans at all. These spans carry the
statement's text as the driver got it (placeholders, never values: engines are made with `hide_parameters`), the
database system and name, and the error type when the statement failed.
"""

from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

_SPAN = "_hub_statement_span"
_TRACED = "_hub_statements_traced"


def trace_statements(engine: Engine, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Spans for `engine`'s statements (`AsyncEngine.sync_engine` for an async one); again for the same engine, nothing."""
    if not getattr(engine, _TRACED, False):
        StatementSpans(engine, tracer_provider)
        setattr(engine, _TRACED, True)


class StatementSpans:
    """Listens on one synchronous engine."""

    def __init__(self, engine: Engine, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer("hub.db", tracer_provider=tracer_provider)
        url = engine.url
        self._database = url.database or ""
        self._attributes: dict[str, Any] = {"db.system": engine.dialect.name, "db.name": self._database}
        if url.host:
            self._attributes["server.address"] = url.host
            if url.port:
                self._attributes["server.port"] = url.port
        event.listen(engine, "before_cursor_execute", self._started)
        event.listen(engine, "after_cursor_execute", _ended)
        event.listen(engine, "handle_error", _failed)

    def _started(self, _connection, _cursor, statement: str, _parameters, context, _executemany: bool) -> None:
        if context is None or not is_instrumentation_enabled():  # e.g. an untraced endpoint (`ServerSpans`)
            return
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        setattr(context, _SPAN, self._tracer.start_span(f"{verb} {self._database}", kind=SpanKind.CLIENT,
                                                         attributes={**self._attributes, "db.statement": statement}))


def _ended(_connection, _cursor, _statement, _parameters, context, _executemany) -> None:
    span: Span | None = getattr(context, _SPAN, None)
    if span is not None:
        span.end()
        setattr(context, _SPAN, None)


def _failed(exception: ExceptionContext) -> None:
    span: Span | None = getattr(exception.execution_context, _SPAN, None)
    if span is None:
        return
    error = exception.original_exception
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))  # not the message: it may quote values
    span.end()
    setattr(exception.execution_context, _SPAN, None)
