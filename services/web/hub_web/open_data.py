"""The open-data page's tables, built once from reporting's answer and used twice: shown beside its chart, and
written as the CSV download, so the two can never disagree. A hidden count stays hidden in both, in words
("کمتر از ۵", "fewer than 5"), never as a number. The total of a period of several months other than a whole
Jalali year is hidden wherever its months do not give it (reporting shows it only where they do): it may be any
size, so it is written "پنهان" ("hidden")."""

import csv
import io
import re
from dataclasses import dataclass, field

from hub_web.i18n import KINDS, pick
from hub_web.persian import MONTHS_EN, MONTHS_FA, persian_digits

_PERSIAN_NUMBER = str.maketrans({".": "٫", "%": "٪"})


@dataclass(frozen=True)
class Number:
    """One figure of reporting's answer and how to write it: a count, a share (0..1), working days, a score, a
    signed change or a plain number."""

    value: int | float | None
    suppressed: bool
    unit: str = "count"
    any_size: bool = False  # hidden as a period's total, not as a small count


def written(number: Number, lang: str, threshold: int, persian: bool = True) -> str:
    """The figure as a person reads it; `persian=False` keeps Latin digits (the CSV, read by spreadsheets)."""
    if number.suppressed and number.any_size:
        return "پنهان" if lang == "fa" else "hidden"
    if number.suppressed:
        return f"کمتر از {persian_digits(threshold) if persian else threshold}" if lang == "fa" else f"fewer than {threshold}"
    if number.value is None:
        return "—"
    text = {"count": lambda v: f"{v:d}", "share": lambda v: f"{v * 100:.1f}%", "days": lambda v: f"{v:g}",
            "score": lambda v: f"{v:.2f}", "change": lambda v: f"{v:+g}", "number": lambda v: f"{v:g}"}[number.unit](number.value)
    return persian_digits(text).translate(_PERSIAN_NUMBER) if lang == "fa" and persian else text


@dataclass
class Table:
    """A section of the page: its title, the column headers, a row per month and the total row, and which column
    its chart draws (`charted`) on what scale (`ceiling`; None: the largest value shown)."""

    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Number]]] = field(default_factory=list)
    charted: int = 0
    ceiling: float | None = None


def month_name(month: str, lang: str) -> str:
    """`1405-09` → `آذر ۱۴۰۵` (or `Azar 1405`)."""
    year, number = month.split("-")
    names = MONTHS_FA if lang == "fa" else MONTHS_EN
    return f"{names[int(number) - 1]} {persian_digits(year) if lang == 'fa' else year}"


def tables(data: dict, lang: str) -> list[Table]:
    """The four sections, in the order the page shows them."""
    t = lambda fa, en: fa if lang == "fa" else en  # noqa: E731
    kinds = [kind for kind in data["kinds"] if _counted(data, kind)]
    sections = [
        Table("cases", t("پرونده‌ها به تفکیک نوع و ماه ثبت", "Cases by kind and month filed"),
              [pick(KINDS[kind], lang) if kind in KINDS else kind for kind in kinds] + [t("همه", "All")], charted=len(kinds)),
        Table("on-time", t("سهم پاسخ به‌موقع", "Share answered on time"),
              [t("پاسخ داده‌شده", "Answered"), t("سهم پاسخ به‌موقع", "Answered on time")], charted=1, ceiling=1),
        Table("answer-time", t("میانه زمان پاسخ (روز کاری)", "Median answer time (working days)"),
              [t("پاسخ داده‌شده", "Answered"), t("میانه زمان پاسخ (روز کاری)", "Median working days")], charted=1),
        Table("satisfaction", t("رضایت مراجعان (امتیاز ۱ تا ۵)", "Visitors' satisfaction (score 1 to 5)"),
              [t("تعداد ارزیابی", "Ratings"), t("میانگین امتیاز", "Mean score")], charted=1, ceiling=5),
    ]
    for month in [*data["months"], data["total"]]:
        label = t("کل دوره", "Whole period") if month is data["total"] else month_name(month["month"], lang)
        for section, numbers in zip(sections, _numbers(month, kinds, any_size=month is data["total"] and partial_period(data))):
            section.rows.append((label, numbers))
    return sections


def partial_period(data: dict) -> bool:
    """Several months but not a whole Jalali year (a half, a quarter, the last twelve months): reporting gives
    its total only where the months (with the year's total) give it."""
    return len(data["months"]) > 1 and not re.fullmatch(r"\d{4}", data["period"]["label"])


def _counted(data: dict, kind: str) -> bool:
    """A kind gets a column if the period holds any case of it (hidden counts included)."""
    figure = data["total"]["cases"][kind]
    return bool(figure["suppressed"] or figure["value"])


def _numbers(month: dict, kinds: list[str], any_size: bool) -> list[list[Number]]:
    figure = lambda name, unit="count": Number(month[name]["value"], month[name]["suppressed"], unit, any_size)  # noqa: E731
    cases = [Number(month["cases"][kind]["value"], month["cases"][kind]["suppressed"], "count", any_size) for kind in kinds]
    return [cases + [figure("cases_total")], [figure("answered"), figure("on_time_share", "share")],
            [figure("answered"), figure("median_working_days", "days")], [figure("ratings"), figure("mean_score", "score")]]


def as_csv(sections: list[Table], lang: str, threshold: int) -> bytes:
    """Every table, one after another under its title, in UTF-8 with a byte-order mark (so Excel reads Persian)."""
    text = io.StringIO()
    writer = csv.writer(text)
    for section in sections:
        writer.writerow([section.title])
        writer.writerow(["ماه" if lang == "fa" else "Month", *section.columns])
        for label, numbers in section.rows:
            writer.writerow([label, *(written(number, lang, threshold, persian=False) for number in numbers)])
        writer.writerow([])
    return ("\ufeff" + text.getvalue()).encode("utf-8")
