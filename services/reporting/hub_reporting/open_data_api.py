"""`GET /api/v1/open-data`: an agency's cases, nationwide or in one province, for anyone and without a token:
cases by kind and Jalali month, answers on time, answer time, satisfaction. Aggregates only, small counts hidden
(`hub_reporting.open_data`); confidential cases and cases about a named employee are never counted, since even
their number could point at the person. Limited per address like intake's public endpoints."""

from datetime import datetime, timedelta
from typing import Annotated

import jdatetime
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select
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
COUNTING = {
    "cases": "cases registered in the month (Tehran time) for the agency, in the province when one is given, by kind",
    "excluded": "confidential cases and cases about a named employee are never counted",
    "answers": "cases whose final answer was given in the month; on_time_share is the share answered by their deadline",
    "answer_time": "median_working_days: working days after the day of registration up to the day of the final answer, "
                   "on the working calendar of the unit that answered (its week, holidays and closures)",
    "satisfaction": "visit ratings of the agency's units (in the province) given in the month: how many, mean score 1-5",
    "suppression": "a count from 1 to threshold-1 is hidden (suppressed: true), and so is the smallest other count of a "
                   "row or column that would reveal it through its total; shares, medians and means only beside a shown base",
}
RESPONSES = {
    422: {"description": "Unknown agency or province, or a period that is not a Jalali year, half, quarter or month"},
    429: {"description": "Too many requests from this address; Retry-After says when to ask again"},
}


class Figure(BaseModel):
    value: int | float | None = Field(description="None when suppressed, or when there is nothing to compute it from")
    suppressed: bool = Field(False, description="hidden because it counts fewer than `threshold`, or would reveal such a count")


class MonthFigures(BaseModel):
    month: str = Field(description="Jalali month, 1405-09; `total` for the whole period")
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
    period: PeriodView
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
        period: Annotated[str | None, Query(max_length=16, description="1405, 1405-H2, 1405-Q3 or 1405-09; default the last 12 months")] = None,
    ) -> OpenData:
        enforce(per_address, address(request))
        chosen = _period(period)
        async with runtime.sessions() as session:
            await _check_scope(session, agency, province)
            registered, answered = await _facts(session, agency, province, chosen)
            ratings = await _ratings(session, agency, province, chosen)
        months = months_of(chosen)
        return _figures(agency, province, chosen, months, settings.open_data_threshold,
                        open_data.cases_by_kind(registered, months, KINDS, settings.open_data_threshold),
                        open_data.answers(answered, months, calendars, settings.open_data_threshold),
                        open_data.satisfaction(ratings, months, settings.open_data_threshold))

    return api


def _period(text: str | None) -> Period:
    if text is None:
        return last_twelve_months(jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date()))
    try:
        return parse_period(text, None, None)
    except BadPeriod as error:
        raise Unprocessable.of(error) from None


def last_twelve_months(today: jdatetime.date) -> Period:
    """The month `today` falls in and the eleven before it."""
    after = jdatetime.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    first = jdatetime.date(today.year - (today.month < 12), today.month % 12 + 1, 1)
    return Period(f"{_label(first)}..{_label(today)}", first, after - timedelta(days=1))


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


async def _facts(session, agency: str, province: str | None, period: Period) -> tuple[list[CaseFact], list[CaseFact]]:
    """The countable cases registered in the period, and those answered in it."""
    where = _countable(agency, province)
    registered = (await session.execute(select(CaseFact).where(
        *where, CaseFact.registered_at >= period.start, CaseFact.registered_at < period.end))).scalars().all()
    answered = (await session.execute(select(CaseFact).where(
        *where, CaseFact.answered_at >= period.start, CaseFact.answered_at < period.end))).scalars().all()
    return list(registered), list(answered)


async def _ratings(session, agency: str, province: str | None, period: Period) -> dict[str, tuple[int, int]]:
    """(ratings, sum of scores) per Jalali month, over the agency's units (in the province)."""
    root = f"{agency}/{province}" if province else agency
    starts = [jdatetime.date(int(m[:4]), int(m[5:]), 1).togregorian() for m in months_of(period)]
    rows = (await session.execute(select(UnitRatingMonth.month, func.sum(UnitRatingMonth.ratings), func.sum(UnitRatingMonth.score_sum))
                                  .where(under(UnitRatingMonth.unit_id, root), col(UnitRatingMonth.month).in_(starts))
                                  .group_by(UnitRatingMonth.month))).all()
    return {_label(jdatetime.date.fromgregorian(date=month)): (int(n), int(total)) for month, n, total in rows}


def _label(day: jdatetime.date) -> str:
    return f"{day.year}-{day.month:02d}"


def _figure(shown: Shown) -> Figure:
    return Figure(value=shown.value, suppressed=shown.suppressed)


def _figures(agency: str, province: str | None, period: Period, months: list[str], threshold: int, cases, answers, ratings) -> OpenData:
    def month_figures(month: str) -> MonthFigures:
        answer, rating = answers[month], ratings[month]
        return MonthFigures(month=month, cases={kind: _figure(cases[month, kind]) for kind in KINDS},
                            cases_total=_figure(cases[month, TOTAL]), answered=_figure(answer.answered),
                            on_time_share=_figure(answer.on_time_share), median_working_days=_figure(answer.median_working_days),
                            ratings=_figure(rating.ratings), mean_score=_figure(rating.mean_score))

    return OpenData(agency=agency, province=province, period=_view(period), threshold=threshold, kinds=KINDS, counting=COUNTING,
                    months=[month_figures(month) for month in months], total=month_figures(TOTAL))
