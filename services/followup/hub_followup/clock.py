"""Time for follow-up: a clock the poller and the consumer ask for "now" (tests move a manual one). The
working days the ladder counts in are the hub's one calendar, `hub_shared.calendar`."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
