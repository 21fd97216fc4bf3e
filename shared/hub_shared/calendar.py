"""Working days (روز کاری), counted the same way by every service that counts them: routing sets each
case's deadline, followup times its reminders and follow-ups, reporting measures response times.

The Iranian administrative week: Friday off, Thursday per `HUB_THURSDAY_OFF`. Iran's official holidays come
from the `holidays` package; `HUB_HOLIDAYS_FILE` adds the days the government closes offices (air pollution,
a heat wave) and removes official holidays that offices work after all. Days are Tehran days.

A unit follows a calendar by id: `iran-standard` (the deployment's week) or `iran-thursday-working`. Routing
knows each unit's and names it on the events that give a case a unit (`CaseRouted`, `CaseTransferred`,
`CaseForwarded`); followup and reporting count on the calendar those name, on the standard one when an
event names none (older events) or one they do not know.
"""

import functools
import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hub_shared.jalali import TEHRAN, as_utc
from hub_shared.settings import HOLIDAYS_FILE_NAMES, THURSDAY_OFF_NAMES, HubSettings

STANDARD = "iran-standard"
THURSDAY_WORKING = "iran-thursday-working"
THURSDAY, FRIDAY = 3, 4  # date.weekday(): Monday is 0
log = logging.getLogger(__name__)


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
    def load(cls, path: Path | None, setting: str = HOLIDAYS_FILE_NAMES[0]) -> "HolidayOverrides":
        """The file's overrides; a file that cannot be read or does not validate stops the service, naming
        `setting` (the variable that named the file), the file and the problem."""
        if path is None:
            return cls()
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, ValueError) as invalid:  # ValidationError is a ValueError; so is a 13th month
            raise SystemExit(f"{setting} {path}: {invalid}") from None


@functools.cache
def _official_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("IR", years=year))


class WorkingCalendar:
    def __init__(self, thursday_off: bool = True, extra_holidays: frozenset[date] = frozenset(),
                 worked_holidays: frozenset[date] = frozenset()) -> None:
        self._weekend = {FRIDAY, THURSDAY} if thursday_off else {FRIDAY}
        self._extra = extra_holidays
        self._worked = worked_holidays
        self._running: dict[int, list[int]] = {}  # year -> working days among its first n days, n = 0..365/366
        self._counted: dict[tuple[date, int], date] = {}  # (day, n) -> the n-th working day after it (before, n < 0)

    @classmethod
    def with_overrides(cls, thursday_off: bool, overrides: HolidayOverrides) -> "WorkingCalendar":
        return cls(thursday_off, frozenset(o.date for o in overrides.add), frozenset(o.date for o in overrides.remove))

    def is_working_day(self, day: date) -> bool:
        if day.weekday() in self._weekend or day in self._extra:
            return False
        return day not in _official_holidays(day.year) or day in self._worked

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end (Tehran time) of the `working_days`-th working day after the day `start` falls on, in UTC."""
        day = self._working_days_from(_tehran_day(start), working_days)
        return datetime.combine(day, time(23, 59, 59), tzinfo=TEHRAN).astimezone(UTC)

    def shift(self, moment: datetime, working_days: int) -> datetime:
        """The same Tehran wall time `working_days` working days later (earlier when negative), in UTC."""
        local = as_utc(moment).astimezone(TEHRAN)
        day = self._working_days_from(local.date(), working_days)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=TEHRAN).astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the day `start` falls on, up to and including the day `end` falls on (Tehran
        days; negative when `end` comes first). An answer on the day `deadline(start, n)` ends counts n."""
        first, last = _tehran_day(start), _tehran_day(end)
        if last < first:
            return -self.working_days_between(end, start)
        return self._through(last, first.year) - self._through(first, first.year)

    def _through(self, day: date, base_year: int) -> int:
        """Working days from 1 January of `base_year` up to and including `day`: a report counts thousands of
        answers, so each year is counted once and then looked up."""
        return sum(self._year(year)[-1] for year in range(base_year, day.year)) + self._year(day.year)[day.timetuple().tm_yday]

    def _year(self, year: int) -> list[int]:
        if year not in self._running:
            running, day = [0], date(year, 1, 1)
            while day.year == year:
                running.append(running[-1] + self.is_working_day(day))
                day += timedelta(days=1)
            self._running[year] = running
        return self._running[year]

    def _working_days_from(self, day: date, working_days: int) -> date:
        """Counted once per (day, n): every case routed on a day gets the same deadline."""
        key = (day, working_days)
        if key not in self._counted:
            counted, step = day, (1 if working_days > 0 else -1)
            for _ in range(abs(working_days)):
                counted = self._next_working_day(counted, step)
            self._counted[key] = counted
        return self._counted[key]

    def _next_working_day(self, day: date, step: int) -> date:
        day += timedelta(days=step)
        while not self.is_working_day(day):
            day += timedelta(days=step)
        return day


def _tehran_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(TEHRAN).date()


class Calendars:
    """The calendars units follow, by id; a unit without one (or with an unknown one) follows the default."""

    def __init__(self, default: WorkingCalendar, by_id: dict[str, WorkingCalendar] | None = None) -> None:
        self.default = default
        self._by_id = by_id or {}
        self._warned: set[str] = set()

    @classmethod
    def of_week(cls, thursday_off: bool = True, overrides: HolidayOverrides | None = None) -> "Calendars":
        """`iran-standard` (Thursday off or not, as the deployment says) and `iran-thursday-working`, with the same holidays."""
        overrides = overrides or HolidayOverrides()
        standard = WorkingCalendar.with_overrides(thursday_off, overrides)
        return cls(standard, {STANDARD: standard, THURSDAY_WORKING: WorkingCalendar.with_overrides(False, overrides)})

    def named(self, calendar_id: str | None) -> WorkingCalendar:
        """The calendar with this id; none (an event from before units' calendars were carried) is the default,
        and so is an unknown id, logged once per id since the count may then be off by the unit's Thursdays."""
        if calendar_id is None:
            return self.default
        found = self._by_id.get(calendar_id)
        if found is None and calendar_id not in self._warned:
            self._warned.add(calendar_id)
            log.warning("unknown working calendar %r: counting on the default one instead; known: %s",
                        calendar_id, ", ".join(sorted(self._by_id)) or "none")
        return found or self.default

    def of(self, unit) -> WorkingCalendar:
        return self.named(getattr(unit, "calendar", None))


def load_calendars(settings: HubSettings) -> Calendars:
    """The deployment's calendars from `HUB_THURSDAY_OFF` and `HUB_HOLIDAYS_FILE`. A bad overrides file, or
    the current and older names of a setting set to different values, stop the service saying what to fix."""
    _name_in_use(THURSDAY_OFF_NAMES, _as_bool)  # only to stop on names that disagree
    overrides = HolidayOverrides.load(settings.holidays_file, _name_in_use(HOLIDAYS_FILE_NAMES, _as_path))
    return Calendars.of_week(settings.thursday_off, overrides)


def _name_in_use(names: tuple[str, ...], parse: Callable[[str], object]) -> str:
    """Which of a setting's names the environment sets (the current name when none is set); the service
    stops when it sets several to different values, since pydantic would silently take the first."""
    given = {name: os.environ[name] for name in names if name in os.environ}
    if len({parse(value) for value in given.values()}) > 1:
        shown = ", ".join(f"{name}={value!r}" for name, value in given.items())
        raise SystemExit(f"{shown} disagree: routing, followup and reporting count working days on one calendar; "
                         f"set {names[0]} only and remove the others")
    in_use = next(iter(given), names[0])
    if in_use != names[0]:
        log.warning("%s is the older name of %s; it is still read, but rename it", in_use, names[0])
    return in_use


def _as_bool(value: str) -> object:
    try:
        return TypeAdapter(bool).validate_python(value.strip())
    except ValidationError:
        return value


def _as_path(value: str) -> Path | None:
    return Path(value.strip()) if value.strip() else None
