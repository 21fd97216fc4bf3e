"""Dates shown to people are Jalali (Solar Hijri) in Tehran time; storage is UTC."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import jdatetime

TEHRAN = ZoneInfo("Asia/Tehran")
_MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything the hub stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_jalali(moment: datetime) -> str:
    """`1405/09/03 21:15` for a UTC instant, in Tehran time."""
    local = jdatetime.datetime.fromgregorian(datetime=as_utc(moment).astimezone(TEHRAN))
    return f"{local.year:04d}/{local.month:02d}/{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def to_jalali_words(moment: datetime) -> str:
    """`۳ آذر ۱۴۰۵` for a UTC instant, in Tehran time."""
    local = jdatetime.date.fromgregorian(date=as_utc(moment).astimezone(TEHRAN).date())
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    return f"{str(local.day).translate(persian)} {_MONTHS[local.month - 1]} {str(local.year).translate(persian)}"


def jalali_year(moment: datetime) -> int:
    return jdatetime.date.fromgregorian(date=as_utc(moment).astimezone(TEHRAN).date()).year
