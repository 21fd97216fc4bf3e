"""`GET /api/v1/open-data`: an agency's cases, nationwide or in one province, for anyone and without a token:
cases by kind and Jalali month, answers on time, answer time, satisfaction. Aggregates only, small counts hidden
(`hub_reporting.open_data`); confidential cases and cases about a named employee are never counted, since even
their number could point at the person. Limited per address like intake's public endpoints.

No hidden count can be worked out from any combination of answers given at the same moment: each answer is a cut
of one table per agency and Jalali year, suppressed for the whole country and every province together
(`open_data.year_table`); a period other than a whole year shows that table's months, and its total only where every
month it adds up is shown.

Only finished Jalali months (Tehran time) are published: the month still running is left out of every figure and
total (cases by month of filing, answers by month of answer, ratings by day of visit) until it has ended, so answers
asked on different days of a month are identical and their difference tells nothing about a day. Each answer names
the last month it counts (`complete_through`); the default window is the last twelve finished months, and a period
with no finished month yet (the current month, or one in the future) is refused with 422 `unfinished_period`."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

import jdatetime
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import case, exists, func, select
from sqlmodel import col

from hub_reporting import open_data
from hub_reporting.access import Unprocessable, under
from hub_reporting.models import CaseFact, UnitRatingMonth
from hub_reporting.open_data import TOTAL, Shown
from hub_reporting.periods import BadPeriod, Period, parse_period
from hub_reporting.reports_api import PeriodView, _view
from hub_reporting.settings import ReportingSettings
from hub_shared.calendar import Calendars
from hub_shared.events import CaseKind
from hub_shared.jalali import TEHRAN
from hub_shared.ratelimit import RateLimiter, citizen_address, enforce
from hub_shared.reference import org_seed
from hub_shared.service import Runtime

KINDS = [kind.value for kind in CaseKind]
COUNT = "n"  # the one column of the answers' and the ratings' tables
COUNTING = {
    "months": "only finished Jalali months (Tehran time) are counted, up to the end of `complete_through`: the month still "
              "running is left out of every figure and total until it has ended, so answers asked on different days of it "
              "are the same",
    "cases": "cases registered in the month (Tehran time) for the agency, in the province when one is given, by kind",
    "excluded": "confidential cases and cases about a named employee are never counted",
    "answers": "cases whose final answer was given in the month; on_time_share is the share answered by their deadline",
    "answer_time": "median_working_days: working days after the day of registration up to the day of the final answer, "
                   "on the working calendar of the unit that answered (its week, holidays and closures)",
    "satisfaction": "visit ratings of the agency's units (in the province) given in the month: how many, mean score 1-5",
    "suppression": "a count from 1 to threshold-1 is hidden (suppressed: true), and so are the counts it could be worked out "
                   "from by any combination of answers: hidden once per agency and Jalali year, for the whole country and "
                   "every province together (a row or column total, the whole country against its provinces, or a chain of "
                   "them); a period other than a whole year shows the year's months, and its total only where every month "
                   "it adds up is shown; shares, medians and means only beside a shown base",
}
RESPONSES = {
    422: {"description": "Unknown agency or province, a period that is not a Jalali year, half, quarter or month, or a "
                          "period with no finished month yet (`unfinished_period`: the current month or a later one; the "
                          "error names `complete_through`)"},
    429: {"description": "Too many requests from this address; Retry-After says when to ask again"},
}


class Figure(BaseModel):
    value: int | float | None = Field(description="None when suppressed, or when there is nothing to compute it from")
    suppressed: bool = Field(False, description=(
        "hidden because it counts fewer than `threshold`, or because with other answers it would reveal such a count"))


class MonthFigures(BaseModel):
    month: str = Field(description=(
        "Jalali month, 1405-09; `total` for the whole period (for a whole year the year's own total; for any other "
        "period the sum of its months where each is shown, suppressed otherwise)"))
    cases: dict[str, Figure] = Field(description="cases registered, by kind")
    cases_total: Figure
    answered: Figure
    on_time_share: Figure = Field(description="0..1")
    median_working_days: Figure
    ratings: Figure
    mean_score: Figure = Field(description="1..5")


class OpenData(BaseModel):
    agency: str
    province: str | None
    period: PeriodView = Field(description="the period asked for (or the default window); `months` lists the finished "
                                           "months of it that are counted")
    complete_through: str = Field(description=(
        "the last finished Jalali month (Tehran time), 1405-08: every figure counts up to its end and nothing later; "
        "the month still running is published once it has ended"))
    threshold: int
    kinds: list[str]
    counting: dict[str, str]
    months: list[MonthFigures]
    total: MonthFigures


def router(runtime: Runtime, settings: ReportingSettings, calendars: Calendars) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["open data"])
    per_address = RateLimiter.allowing(runtime.settings.public_requests_per_minute, minutes=1)
    address = citizen_address(settings.trusted_proxies)

    @api.get("/open-data", response_model=OpenData, responses=RESPONSES)
    async def open_data_of(
        request: Request,
        agency: Annotated[str, Query(max_length=64, description="agency code, as routing's /api/v1/org/places lists them: labour")],
        province: Annotated[str | None, Query(max_length=64, description="province code: tehran; none for the whole country")] = None,
        period: Annotated[str | None, Query(max_length=16, description=(
            "1405 (a Jalali year), 1405-H2, 1405-Q3 or 1405-09 (months of that year's table); default the last twelve "
            "finished months. Only finished months are counted: of a period reaching into the current month, its "
            "finished months; a period with none yet answers 422. Only the total of a whole year is a number of its "
            "own; any other period's total is shown only where each of its months is"))] = None,
    ) -> OpenData:
        """An agency's cases nationwide or in one province, by kind and Jalali month, with answers on time, answer
        time and satisfaction. Every answer is cut from one table per agency and Jalali year, suppressed for the whole
        country and all its provinces together, so that no hidden count can be worked out from any combination of
        answers: national against provinces, a year against its halves, quarters and months, one window against another.
        Only finished Jalali months are counted (up to the end of `complete_through`); the month still running is left
        out of every figure and total, so answers asked on different days of it are identical."""
        enforce(per_address, address(request))
        running = current_month(jdatetime.date.fromgregorian(date=today()))
        complete_through = _label(running.first - timedelta(days=1))
        chosen = _period(period, running)
        months = [month for month in months_of(chosen) if month <= complete_through]
        threshold = settings.open_data_threshold
        scope = province or open_data.COUNTRY
        async with runtime.sessions() as session:
            await _check_scope(session, agency, province)
            years = {year: await _year(session, agency, year, threshold, running.start)
                     for year in sorted({int(month[:4]) for month in months})}
            answered = await _answered(session, agency, province, chosen, running.start)
        cases = open_data.view({year: tables.cases for year, tables in years.items()}, scope, months, [*KINDS, TOTAL])
        bases = open_data.view({year: tables.answered for year, tables in years.items()}, scope, months, [COUNT])
        ratings = open_data.view({year: tables.ratings for year, tables in years.items()}, scope, months, [COUNT])
        sums = {month: years[int(month[:4])].score_sums.get((scope, month), 0) for month in months}
        counts = {month: years[int(month[:4])].ratings.counts[scope, month, COUNT] for month in months}
        return _figures(agency, province, chosen, complete_through, months, threshold, cases,
                        open_data.answers(answered, {m: bases[m, COUNT] for m in [*months, TOTAL]}, months, calendars, threshold),
                        open_data.satisfaction(sums, {m: ratings[m, COUNT] for m in [*months, TOTAL]}, counts, months))

    return api


def _period(text: str | None, running: Period) -> Period:
    """The period asked for, or the default window; 422 for one that starts in the month still `running` or later."""
    if text is None:
        return last_twelve_months(running.first)
    try:
        period = parse_period(text, None, None)
    except BadPeriod as error:
        raise Unprocessable.of(error) from None
    if not 1000 <= period.first.year <= 9998:  # every answer is cut from whole years' tables, which need a year after it
        raise Unprocessable("unknown_period", "سال دوره باید سالی شمسی از ۱۰۰۰ تا ۹۹۹۸ باشد.",
                            f"Unknown period {text!r}: the year must be a Jalali year from 1000 to 9998.")
    if period.first >= running.first:
        through = running.first - timedelta(days=1)
        error = Unprocessable(
            "unfinished_period",
            f"آمار هر ماه پس از پایان آن ماه منتشر می‌شود و دوره {_persian_digits(text)} هنوز هیچ ماه تمام‌شده‌ای ندارد؛ "
            f"آمار تا پایان {MONTHS_FA[through.month - 1]} {_persian_digits(through.year)} در دسترس است.",
            f"Figures are published once a month has ended, and period {text!r} has no finished month yet; "
            f"figures are available up to the end of {MONTHS_EN[through.month - 1]} {through.year}.")
        error.detail["complete_through"] = _label(through)
        raise error
    return period


MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand")


def _persian_digits(value: object) -> str:
    return str(value).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def today() -> date:
    """Today on Tehran's clock."""
    return datetime.now(TEHRAN).date()


def current_month(today: jdatetime.date) -> Period:
    """The Jalali month `today` falls in: still running, so none of it is published."""
    return parse_period(_label(today), None, None)


def last_twelve_months(today: jdatetime.date) -> Period:
    """The twelve finished months before the month `today` falls in."""
    first, last = jdatetime.date(today.year - 1, today.month, 1), jdatetime.date(today.year, today.month, 1) - timedelta(days=1)
    return Period(f"{_label(first)}..{_label(last)}", first, last)


def months_of(period: Period) -> list[str]:
    """The Jalali months a period spans, `1405-09`, in order."""
    months, day = [], period.first.replace(day=1)
    while day <= period.last:
        months.append(_label(day))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


async def _check_scope(session, agency: str, province: str | None) -> None:
    """422 for an agency neither the tree's seed nor any case names, and for a province of no such name."""
    seed = org_seed()
    if agency not in seed.agencies and not (await session.execute(select(exists().where(CaseFact.agency == agency)))).scalar():
        raise Unprocessable("unknown_agency", f"دستگاه «{agency}» شناخته نیست.",
                            f"Unknown agency {agency!r}; give a code from routing's /api/v1/org/places, such as labour.")
    if province is not None and province not in seed.provinces:
        raise Unprocessable("unknown_province", f"استان «{province}» شناخته نیست.",
                            f"Unknown province {province!r}; give a code such as tehran or khorasan-razavi.")


def _countable(agency: str, province: str | None) -> list:
    conditions = [CaseFact.agency == agency, col(CaseFact.confidential).is_(False), col(CaseFact.about_employee).is_(None)]
    return conditions + ([CaseFact.province == province] if province else [])


@dataclass(frozen=True)
class YearTables:
    """An agency's year, for every province and the whole country at once: the three tables answers are cut from,
    and the sums of the ratings' scores per (scope, month) for the means."""

    cases: open_data.YearTable
    answered: open_data.YearTable
    ratings: open_data.YearTable
    score_sums: dict[tuple[str, str], int]


async def _year(session, agency: str, year: int, threshold: int, before: datetime) -> YearTables:
    """The agency's counts of the Jalali `year` per province (or none: ELSEWHERE), month and kind, suppressed jointly;
    only what happened `before` (the start of the month still running) is counted, its months are zeros."""
    provinces = sorted(org_seed().provinces)
    months = open_data.months_of_year(year)
    spans = [parse_period(month, None, None) for month in months]
    whole = parse_period(str(year), None, None)

    def part(province: str | None) -> str:
        return province if province in org_seed().provinces else open_data.ELSEWHERE

    async def counted(moment, *by) -> list:
        month = case(*((moment < span.end, span.label) for span in spans)).label("month")
        return (await session.execute(select(*by, month, func.count()).where(
            *_countable(agency, None), moment >= whole.start, moment < whole.end, moment < before).group_by(*by, month))).all()

    cases: dict = {}
    for province, kind, month, n in await counted(CaseFact.registered_at, CaseFact.province, CaseFact.kind):
        if kind in KINDS:
            cases[part(province), month, kind] = cases.get((part(province), month, kind), 0) + n
    answered: dict = {}
    for province, month, n in await counted(CaseFact.answered_at, CaseFact.province):
        answered[part(province), month, COUNT] = answered.get((part(province), month, COUNT), 0) + n
    ratings: dict = {}
    score_sums: dict = {}
    starts = {span.first_day: span.label for span in spans if span.end <= before}  # ratings by day of visit
    rows = (await session.execute(select(UnitRatingMonth.unit_id, UnitRatingMonth.month, UnitRatingMonth.ratings, UnitRatingMonth.score_sum)
                                  .where(under(UnitRatingMonth.unit_id, agency), col(UnitRatingMonth.month).in_(list(starts))))).all()
    for unit_id, start, n, total in rows:
        where, month = part((unit_id.split("/") + [None])[1]), starts[start]
        ratings[where, month, COUNT] = ratings.get((where, month, COUNT), 0) + int(n)
        for scope in (where, open_data.COUNTRY):
            score_sums[scope, month] = score_sums.get((scope, month), 0) + int(total)
    return YearTables(cases=open_data.year_table(cases, provinces, months, KINDS, threshold),
                      answered=open_data.year_table(answered, provinces, months, [COUNT], threshold, row_totals=False),
                      ratings=open_data.year_table(ratings, provinces, months, [COUNT], threshold, row_totals=False),
                      score_sums=score_sums)


async def _answered(session, agency: str, province: str | None, period: Period, before: datetime) -> list[CaseFact]:
    """The countable cases (in the province) answered in the period `before` the month still running, for the shares
    and medians."""
    return list((await session.execute(select(CaseFact).where(
        *_countable(agency, province), CaseFact.answered_at >= period.start, CaseFact.answered_at < min(period.end, before)))
    ).scalars().all())


def _label(day: jdatetime.date) -> str:
    return f"{day.year}-{day.month:02d}"


def _figure(shown: Shown) -> Figure:
    return Figure(value=shown.value, suppressed=shown.suppressed)


def _figures(agency: str, province: str | None, period: Period, complete_through: str, months: list[str], threshold: int,
             cases, answers, ratings) -> OpenData:
    def month_figures(month: str) -> MonthFigures:
        answer, rating = answers[month], ratings[month]
        return MonthFigures(month=month, cases={kind: _figure(cases[month, kind]) for kind in KINDS},
                            cases_total=_figure(cases[month, TOTAL]), answered=_figure(answer.answered),
                            on_time_share=_figure(answer.on_time_share), median_working_days=_figure(answer.median_working_days),
                            ratings=_figure(rating.ratings), mean_score=_figure(rating.mean_score))

    return OpenData(agency=agency, province=province, period=_view(period), complete_through=complete_through,
                    threshold=threshold, kinds=KINDS, counting=COUNTING,
                    months=[month_figures(month) for month in months], total=month_figures(TOTAL))
