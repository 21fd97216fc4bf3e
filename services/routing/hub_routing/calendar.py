"""Working days of the Iranian administrative week: Friday off, Thursday configurable, official holidays
(the `holidays` package for Iran) with overrides from a file: days the government closes offices
(added) and official holidays that offices work after all (removed)."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field

from hub_shared.jalali import TEHRAN


class HolidayOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    reason: str = Field(min_length=2, max_length=200)


class HolidayOverrides(BaseModel):
    """`add`: extra days off (e.g. a closure for air pollution); `remove`: official holidays worked after all."""

    model_config = ConfigDict(extra="forbid")

    add: list[HolidayOverride] = Field(default_factory=list)
    remove: list[HolidayOverride] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None) -> "HolidayOverrides":
        if path is None:
            return cls()
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, ValueError) as invalid:  # ValidationError is a ValueError; so is a 13th month
            raise SystemExit(f"HUB_ROUTING_HOLIDAYS_FILE {path}: {invalid}") from None


class WorkingCalendar:
    def __init__(self, thursday_off: bool = True, extra_holidays: frozenset[date] = frozenset(),
                 worked_holidays: frozenset[date] = frozenset()) -> None:
        self._weekend = {4, 3} if thursday_off else {4}  # Monday is 0: Thursday 3, Friday 4
        self._extra = extra_holidays
        self._worked = worked_holidays
        self._official = holidays.country_holidays("IR")

    @classmethod
    def with_overrides(cls, thursday_off: bool, overrides: HolidayOverrides) -> "WorkingCalendar":
        return cls(thursday_off, frozenset(o.date for o in overrides.add), frozenset(o.date for o in overrides.remove))

    def is_working_day(self, day: date) -> bool:
        if day.weekday() in self._weekend or day in self._extra:
            return False
        return day not in self._official or day in self._worked

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end (Tehran time) of the `working_days`-th working day after the day `start` falls on."""
        day = start.astimezone(TEHRAN).date()
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, time(23, 59, 59), tzinfo=TEHRAN).astimezone(UTC)


class Calendars:
    """The calendars units follow, by id; a unit without one (or with an unknown one) follows the default."""

    def __init__(self, default: WorkingCalendar, by_id: dict[str, WorkingCalendar] | None = None) -> None:
        self._default = default
        self._by_id = by_id or {}

    def of(self, unit) -> WorkingCalendar:
        return self._by_id.get(getattr(unit, "calendar", None), self._default)
