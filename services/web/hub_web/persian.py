"""How the portal writes numbers and dates for people: Persian digits, Jalali dates with Persian month names,
Tehran time. Codes typed in any of Persian, Arabic-Indic or Latin digits are read as ASCII (hub_shared.text)."""

from datetime import UTC, datetime

import jdatetime

from hub_shared.jalali import TEHRAN, as_utc

MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(value: object) -> str:
    return str(value).translate(_TO_PERSIAN)


def digits_for(lang: str, value: object) -> str:
    return persian_digits(value) if lang == "fa" else str(value)


def parse_moment(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(moment)


def jalali_date(value: str | datetime, lang: str = "fa") -> str:
    """`۳ آذر ۱۴۰۵` (or `3 Azar 1405`), the Tehran day of a UTC instant."""
    local = jdatetime.date.fromgregorian(date=parse_moment(value).astimezone(TEHRAN).date())
    months = MONTHS_FA if lang == "fa" else MONTHS_EN
    return f"{digits_for(lang, local.day)} {months[local.month - 1]} {digits_for(lang, local.year)}"


def jalali_datetime(value: str | datetime, lang: str = "fa") -> str:
    """`۳ آذر ۱۴۰۵، ساعت ۲۲:۲۱` (or `3 Azar 1405, 22:21`), in Tehran time."""
    local = parse_moment(value).astimezone(TEHRAN)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang == "fa":
        return f"{jalali_date(value, lang)}، ساعت {persian_digits(clock)}"
    return f"{jalali_date(value, lang)}, {clock}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def last_finished_month(moment: datetime | None = None) -> str:
    """`1405-08`: the Jalali month before the one running at `moment` (now) in Tehran, the last one open data counts."""
    today = jdatetime.date.fromgregorian(date=as_utc(moment or now_utc()).astimezone(TEHRAN).date())
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year}-{month:02d}"
