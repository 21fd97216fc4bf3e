"""Numbers and dates as the portal writes them for people."""

from datetime import UTC, datetime

from hub_web.persian import jalali_date, jalali_datetime, persian_digits
from hub_web.forms import ascii_code


def test_digits_are_written_in_persian() -> None:
    assert persian_digits("1405-00000012") == "۱۴۰۵-۰۰۰۰۰۰۱۲"


def test_a_utc_instant_is_shown_on_the_jalali_calendar_in_tehran_time() -> None:
    # 2026-11-24 20:45 UTC is 25 November 00:15 in Tehran (UTC+3:30): 4 Azar 1405
    moment = datetime(2026, 11, 24, 20, 45, tzinfo=UTC)
    assert jalali_datetime(moment) == "۴ آذر ۱۴۰۵، ساعت ۰۰:۱۵"
    assert jalali_datetime(moment, "en") == "4 Azar 1405, 00:15"


def test_the_first_day_of_the_year_and_a_naive_instant_read_as_utc() -> None:
    assert jalali_date("2026-03-21T08:00:00") == "۱ فروردین ۱۴۰۵"
    assert jalali_date("2027-03-20T12:00:00+00:00", "en") == "29 Esfand 1405"


def test_codes_typed_in_persian_arabic_or_latin_digits_read_the_same() -> None:
    assert ascii_code("۱۲۳۴۵ ۶۷۸۹۰۱") == ascii_code("١٢٣٤٥-٦٧٨٩٠١") == ascii_code("12345678901") == "12345678901"
