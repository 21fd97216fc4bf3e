"""Time for follow-up: a clock the poller and the consumer ask for "now" (tests move a manual one),
and the working days (روز کاری) the ladder counts in: Friday off, Thursday configurable, Iran's official
holidays from the `holidays` package, in Tehran time.

Routing has its own working calendar; services share no code but `hub_shared`, so this is a second,
smaller one. A calendar in `hub_shared` would keep the two from drifting apart.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import holidays

from hub_shared.jalali import TEHRAN, as_utc

FRIDAY, THURSDAY = 4, 3


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class WorkingDays:
    def __init__(self, thursday_off: bool = True) -> None:
        self._weekend = {FRIDAY, THURSDAY} if thursday_off else {FRIDAY}
        self._official = holidays.country_holidays("IR")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self._weekend and day not in self._official

    def shift(self, moment: datetime, working_days: int) -> datetime:
        """The same Tehran wall time `working_days` working days later (earlier when negative)."""
        local = as_utc(moment).astimezone(TEHRAN)
        day, step, counted = local.date(), (1 if working_days > 0 else -1), 0
        while counted < abs(working_days):
            day += timedelta(days=step)
            counted += self.is_working_day(day)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=TEHRAN).astimezone(UTC)

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end (Tehran time) of the `working_days`-th working day after the day `start` falls on."""
        evening = datetime.combine(as_utc(start).astimezone(TEHRAN).date(), time(23, 59, 59), tzinfo=TEHRAN)
        return self.shift(evening, working_days)
