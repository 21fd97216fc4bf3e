"""Structured JSON logs that carry `trace_id` and `case_id`."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

_case_id: ContextVar[str | None] = ContextVar("case_id", default=None)


@contextmanager
def case_context(case_id: str | None) -> Iterator[None]:
    """Every log line inside carries this case id."""
    token = _case_id.set(case_id)
    try:
        yield
    finally:
        _case_id.reset(token)


class _Correlation(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.service = self._service
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
        record.case_id = _case_id.get()
        return True


def setup_logging(service: str, level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields={"levelname": "level", "asctime": "time"}))
    handler.addFilter(_Correlation(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the bus's own lines: per-message ones are DEBUG; at INFO it tells which partitions each consumer holds
    logging.getLogger("hub.bus").setLevel(level)
