"""Working days of the Iranian administrative week: Friday off, Thursday configurable, official holidays."""

from datetime import UTC, date, datetime, time, timedelta

import holidays

from hub_shared.jalali import TEHRAN


class WorkingCalendar:
    def __init__(self, thursday_off: bool = True, extra_holidays: frozenset[date] = frozenset()) -> None:
        self._weekend = {4, 3} if thursday_off else {4}  # Monday is 0: Thursday 3, Friday 4
        self._extra = extra_holidays
        self._official = holidays.country_holidays("IR")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self._weekend and day not in self._official and day not in self._extra

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end (Tehran time) of the `working_days`-th working day after the day `start` falls on."""
        day = start.astimezone(TEHRAN).date()
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, time(23, 59, 59), tzinfo=TEHRAN).astimezone(UTC)
