"""Report periods on the Jalali calendar: `1405-09` (month), `1405-Q3`, `1405-H2`, `1405`, or a range of
Jalali days `from=1405-01-01&to=1405-06-31`. A period is a half-open UTC interval between Tehran midnights,
with the period before it (the previous month, quarter, half or year; for a range, as many days just before)."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import jdatetime

from hub_shared.jalali import TEHRAN

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


class BadPeriod(ValueError):
    def __init__(self, code: str, message_fa: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_fa, self.message_en = code, message_fa, message_en


@dataclass(frozen=True)
class Period:
    label: str
    first: jdatetime.date  # first Jalali day, inclusive
    last: jdatetime.date  # last Jalali day, inclusive

    @property
    def start(self) -> datetime:
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1))

    @property
    def first_day(self) -> date:
        return self.first.togregorian()

    @property
    def last_day(self) -> date:
        return self.last.togregorian()

    def previous(self) -> "Period":
        months = _months_spanned(self)
        if months:
            first = _add_months(self.first, -months)
            return Period(f"before {self.label}", first, _add_months(first, months) - timedelta(days=1))
        days = (self.last.togregorian() - self.first.togregorian()).days + 1
        return Period(f"before {self.label}", self.first - timedelta(days=days), self.first - timedelta(days=1))


def _midnight(day: jdatetime.date) -> datetime:
    return datetime.combine(day.togregorian(), time(), tzinfo=TEHRAN).astimezone(UTC)


def _add_months(day: jdatetime.date, months: int) -> jdatetime.date:
    index = day.year * 12 + day.month - 1 + months
    return jdatetime.date(index // 12, index % 12 + 1, 1)


def _months_spanned(period: Period) -> int:
    """Months in a whole-month period (month, quarter, half, year); 0 for a range of days."""
    if period.first.day != 1 or (period.last + timedelta(days=1)).day != 1:
        return 0
    after = period.last + timedelta(days=1)
    return (after.year * 12 + after.month) - (period.first.year * 12 + period.first.month)


def _month_span(year: int, first_month: int, months: int, label: str) -> Period:
    first = jdatetime.date(year, first_month, 1)
    return Period(label, first, _add_months(first, months) - timedelta(days=1))


def parse_period(period: str | None, start: str | None, end: str | None) -> Period:
    if period and (start or end):
        raise BadPeriod("ambiguous_period", "یا دوره (period) بدهید یا بازه (from و to)، نه هر دو.",
                        "Give either period or from/to, not both.")
    if period:
        return _named(period.translate(_DIGITS).strip().upper())
    if not (start and end):
        raise BadPeriod("missing_period", "دوره گزارش را بدهید: period=1405-09 یا from=1405-01-01&to=1405-06-31.",
                        "Give a period (period=1405-09, 1405-Q3, 1405-H2, 1405) or a range from=1405-01-01&to=1405-06-31.")
    first, last = _day(start), _day(end)
    if last < first:
        raise BadPeriod("inverted_range", "تاریخ پایان بازه پیش از تاریخ آغاز آن است.", f"The range ends ({end}) before it starts ({start}).")
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last)


def _named(text: str) -> Period:
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            year, month = int(m[1]), int(m[2])
            if 1 <= month <= 12:
                return _month_span(year, month, 1, f"{year}-{month:02d}")
        elif m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
            return _month_span(int(m[1]), 3 * int(m[2]) - 2, 3, text)
        elif m := re.fullmatch(r"(\d{4})-H([12])", text):
            return _month_span(int(m[1]), 6 * int(m[2]) - 5, 6, text)
        elif re.fullmatch(r"\d{4}", text):
            return _month_span(int(text), 1, 12, text)
    except ValueError:
        pass
    raise BadPeriod("unknown_period", "قالب دوره شناخته نیست؛ نمونه‌ها: 1405-09، 1405-Q3، 1405-H2، 1405.",
                    f"Unknown period {text!r}; use 1405-09 (month), 1405-Q3 (quarter), 1405-H2 (half year) or 1405 (year).")


def _day(text: str) -> jdatetime.date:
    m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text.translate(_DIGITS).strip())
    try:
        if m:
            return jdatetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        pass
    raise BadPeriod("unknown_date", f"تاریخ {text} یک روز درست شمسی نیست (نمونه: 1405-06-31).",
                    f"{text!r} is not a Jalali date such as 1405-06-31.")
