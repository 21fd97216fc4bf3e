"""The one working calendar: the Iranian week, official holidays, the overrides file, deadlines, shifts and
working days between two moments, and the settings every service that counts working days reads."""

import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hub_shared.calendar import STANDARD, THURSDAY_WORKING, Calendars, HolidayOverrides, WorkingCalendar, load_calendars
from hub_shared.jalali import TEHRAN
from hub_shared.settings import HubSettings

NOWRUZ_1405 = date(2026, 3, 21)  # 1 Farvardin 1405, a Saturday
CLOSURE = "add: [{date: 2026-11-25, reason: تعطیلی به دلیل آلودگی هوا}]\nremove: [{date: 2026-02-11, reason: worked after all}]\n"


def tehran(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=TEHRAN)


def holidays_file(folder: Path, text: str = CLOSURE) -> Path:
    path = folder / "holidays.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_friday_is_always_off_and_thursday_is_off_unless_configured() -> None:
    assert not WorkingCalendar().is_working_day(date(2026, 11, 27))  # Friday
    assert not WorkingCalendar(thursday_off=False).is_working_day(date(2026, 11, 27))
    assert not WorkingCalendar().is_working_day(date(2026, 11, 26))  # Thursday
    assert WorkingCalendar(thursday_off=False).is_working_day(date(2026, 11, 26))
    assert WorkingCalendar().is_working_day(date(2026, 11, 28))  # Saturday starts the week


def test_official_holidays_are_not_working_days() -> None:
    assert not WorkingCalendar().is_working_day(NOWRUZ_1405)
    assert not WorkingCalendar().is_working_day(date(2026, 3, 24))  # the fourth day of Nowruz, a Tuesday
    assert not WorkingCalendar().is_working_day(date(2026, 2, 11))  # Islamic Revolution Day, a Wednesday
    assert WorkingCalendar().is_working_day(date(2026, 3, 25))


def test_overrides_close_offices_on_a_working_day_and_open_them_on_an_official_holiday() -> None:
    calendar = WorkingCalendar.with_overrides(True, HolidayOverrides.model_validate({
        "add": [{"date": "2026-11-25", "reason": "تعطیلی به دلیل آلودگی هوا"}],
        "remove": [{"date": "2026-02-11", "reason": "worked, as a test"}]}))
    assert not calendar.is_working_day(date(2026, 11, 25)) and WorkingCalendar().is_working_day(date(2026, 11, 25))
    assert calendar.is_working_day(date(2026, 2, 11)) and not WorkingCalendar().is_working_day(date(2026, 2, 11))


def test_deadline_counts_working_days_from_the_next_day_and_ends_at_tehran_midnight() -> None:
    calendar = WorkingCalendar(extra_holidays=frozenset({date(2026, 11, 29)}))
    registered = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday
    # Wed 25 (1), Thu 26 off, Fri 27 off, Sat 28 (2), Sun 29 extra holiday, Mon 30 (3)
    assert calendar.deadline(registered, 3) == datetime(2026, 11, 30, 20, 29, 59, tzinfo=UTC)


def test_a_deadline_over_nowruz_skips_the_new_year_holidays() -> None:
    # Thu 19 and Fri 20 off, Sat 21 to Tue 24 Nowruz, Wed 25 (1), Thu 26 and Fri 27 off, Sat 28 (2), Sun 29 (3)
    assert WorkingCalendar().deadline(tehran("2026-03-18"), 3) == datetime(2026, 3, 29, 20, 29, 59, tzinfo=UTC)


def test_thirty_working_days_span_more_than_six_weeks() -> None:
    deadline = WorkingCalendar().deadline(datetime(2026, 11, 24, tzinfo=UTC), 30)
    assert (deadline - datetime(2026, 11, 24, tzinfo=UTC)).days >= 42


def test_shift_keeps_the_tehran_wall_time_forwards_and_backwards() -> None:
    calendar = WorkingCalendar()
    saturday = tehran("2027-01-09", 23)
    # back: Fri 8 and Thu 7 off, Wed 6 a holiday (Isra' and Mi'raj), Tue 5 (1) ... Sat 2 (4), Wed 30 Dec (5)
    assert calendar.shift(saturday, -1) == tehran("2027-01-05", 23).astimezone(UTC)
    assert calendar.shift(saturday, -5) == tehran("2026-12-30", 23).astimezone(UTC)
    assert calendar.shift(tehran("2027-01-05", 23), 1) == saturday.astimezone(UTC)
    assert calendar.shift(saturday, 0) == saturday.astimezone(UTC)


def test_working_days_between_counts_as_deadlines_are_counted() -> None:
    calendar = WorkingCalendar(extra_holidays=frozenset({date(2026, 11, 29)}))
    registered = tehran("2026-11-24")
    assert calendar.working_days_between(registered, tehran("2026-11-30", 9)) == 3
    assert calendar.working_days_between(registered, registered + timedelta(hours=8)) == 0
    assert calendar.working_days_between(tehran("2026-11-25"), tehran("2026-11-27")) == 0  # 48 hours, no working day
    assert calendar.working_days_between(tehran("2026-11-30"), registered) == -3
    for n in (1, 5, 30):
        assert calendar.working_days_between(registered, calendar.deadline(registered, n)) == n


def test_the_deployment_calendars_read_the_shared_settings(tmp_path) -> None:
    calendars = load_calendars(HubSettings(holidays_file=holidays_file(tmp_path), thursday_off=False))
    thursday = date(2026, 11, 26)
    assert calendars.default.is_working_day(thursday) and calendars.named(STANDARD) is calendars.default
    assert WorkingCalendar(thursday_off=False).is_working_day(thursday)
    for calendar in (calendars.default, calendars.named(THURSDAY_WORKING), calendars.named("unknown"), calendars.named(None)):
        assert not calendar.is_working_day(date(2026, 11, 25)) and calendar.is_working_day(date(2026, 2, 11))
    assert not load_calendars(HubSettings()).default.is_working_day(thursday)
    assert load_calendars(HubSettings()).named(THURSDAY_WORKING).is_working_day(thursday)


def test_an_unknown_calendar_id_counts_on_the_default_one_warned_once(caplog) -> None:
    calendars = Calendars.of_week()
    with caplog.at_level(logging.WARNING, logger="hub_shared.calendar"):
        found = [calendars.named("iran-friday-working") for _ in range(3)]
    assert found == [calendars.default] * 3 and calendars.named(None) is calendars.default
    assert [r.getMessage() for r in caplog.records] == [
        "unknown working calendar 'iran-friday-working': counting on the default one instead; "
        "known: iran-standard, iran-thursday-working"]


@pytest.mark.parametrize("name", ["HUB_HOLIDAYS_FILE", "HUB_ROUTING_HOLIDAYS_FILE"])
def test_the_holidays_file_is_read_under_its_name_and_its_older_one(tmp_path, monkeypatch, name) -> None:
    monkeypatch.setenv(name, str(holidays_file(tmp_path)))
    assert not load_calendars(HubSettings()).default.is_working_day(date(2026, 11, 25))


@pytest.mark.parametrize("name", ["HUB_THURSDAY_OFF", "HUB_ROUTING_THURSDAY_OFF", "HUB_FOLLOWUP_THURSDAY_OFF"])
def test_thursday_off_is_read_under_its_name_and_its_older_ones(monkeypatch, name) -> None:
    monkeypatch.setenv(name, "false")
    assert load_calendars(HubSettings()).default.is_working_day(date(2026, 11, 26))


@pytest.mark.parametrize("name", ["HUB_HOLIDAYS_FILE", "HUB_ROUTING_HOLIDAYS_FILE"])
def test_a_bad_holidays_file_stops_the_service_naming_the_setting_and_the_file(tmp_path, monkeypatch, name) -> None:
    path = holidays_file(tmp_path, "add: [{date: 2026-13-45, reason: nope}]\n")
    monkeypatch.setenv(name, str(path))
    with pytest.raises(SystemExit, match=re.escape(f"{name} {path}: ")):
        load_calendars(HubSettings())


def test_names_of_one_setting_that_disagree_stop_the_service(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_ROUTING_THURSDAY_OFF", "false")
    monkeypatch.setenv("HUB_FOLLOWUP_THURSDAY_OFF", "true")
    with pytest.raises(SystemExit, match="disagree.*set HUB_THURSDAY_OFF only"):
        load_calendars(HubSettings())
    monkeypatch.setenv("HUB_FOLLOWUP_THURSDAY_OFF", "0")  # the same value, spelt differently
    assert load_calendars(HubSettings()).default.is_working_day(date(2026, 11, 26))
    monkeypatch.setenv("HUB_HOLIDAYS_FILE", str(holidays_file(tmp_path)))
    monkeypatch.setenv("HUB_ROUTING_HOLIDAYS_FILE", str(tmp_path / "other.yaml"))
    with pytest.raises(SystemExit, match="set HUB_HOLIDAYS_FILE only"):
        load_calendars(HubSettings())
