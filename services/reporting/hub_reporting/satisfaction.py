"""Satisfaction: anonymous ratings folded into counts and sums per day and per Jalali month (per unit, per
employee); the individual rating is never stored. The drill-down reads a subtree over a range of days, one level
at a time: whole months from the month rows, and only the partial months at the edges from the day rows."""

from datetime import date, timedelta
from functools import cache

import jdatetime
from sqlalchemy import case, func, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_reporting.models import EmployeeRatingDay, EmployeeRatingMonth, UnitRatingDay, UnitRatingMonth
from hub_shared.envelope import Envelope
from hub_shared.events import RatingSubmitted

ASPECTS = ("respect", "speed", "quality", "conduct")
SUM_COLUMNS = ("ratings", "score_sum", *(f"{a}_{part}" for a in ASPECTS for part in ("n", "sum")))
USE_ROLLUP = True  # False reads every day row (the reference the tests compare the rollup path with)


async def project_ratings(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """A batch of ratings (each new to this group: the inbox rows are written in the same transaction), summed per
    row first, so day and month rows move together; then one upsert a table, run with all the batch's rows for it."""
    rows: dict[type, dict[tuple, dict[str, int]]] = {}  # table: key: sums
    for envelope in envelopes:
        rating: RatingSubmitted = envelope.data
        sums = {"ratings": 1, "score_sum": rating.score}
        for aspect in ASPECTS:
            value = getattr(rating.aspects, aspect)
            sums[f"{aspect}_n"], sums[f"{aspect}_sum"] = (1, value) if value is not None else (0, 0)
        month = month_start(rating.rated_on)
        keys = [(UnitRatingDay, {"unit_id": rating.unit_id, "day": rating.rated_on}),
                (UnitRatingMonth, {"unit_id": rating.unit_id, "month": month})]
        if rating.employee_id:
            employee = {"unit_id": rating.unit_id, "employee_id": rating.employee_id}
            keys += [(EmployeeRatingDay, {**employee, "day": rating.rated_on}), (EmployeeRatingMonth, {**employee, "month": month})]
        for model, key in keys:
            total = rows.setdefault(model, {}).setdefault(tuple(key.items()), dict.fromkeys(SUM_COLUMNS, 0))
            for name, value in sums.items():
                total[name] += value
    for model, totals in rows.items():
        await session.execute(_adding(session.bind.dialect.name, model), [{**dict(key), **sums} for key, sums in totals.items()])


@cache
def _adding(dialect_name: str, model) -> Insert:
    """The upsert that adds a row's sums to what its key holds (or inserts it): built and compiled once per table,
    the key and sums come as parameters. Built per row with the values in it, it had cost most of the consumer's
    CPU (1 ms a rating)."""
    table = model.__table__
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return insert.on_conflict_do_update(index_elements=[column.name for column in table.primary_key.columns],
                                        set_={name: table.c[name] + insert.excluded[name] for name in SUM_COLUMNS})


def month_start(day: date) -> date:
    """The Gregorian date of the first day of the Jalali month `day` falls in."""
    return jdatetime.date.fromgregorian(date=day).replace(day=1).togregorian()


def _next_month_start(start: date) -> date:
    """The first day of the Jalali month after the one starting on `start`."""
    return month_start(start + timedelta(days=32))


def split(first: date, last: date) -> tuple[list[date], list[tuple[date, date]]]:
    """[first, last] as the Jalali months wholly inside it (their first days) and the day ranges left at the edges."""
    months: list[date] = []
    days: list[tuple[date, date]] = []
    start = month_start(first)
    while start <= last:
        after = _next_month_start(start)
        if first <= start and after - timedelta(days=1) <= last:
            months.append(start)
        else:
            days.append((max(first, start), min(last, after - timedelta(days=1))))
        start = after
    return months, days


def _merged(ranges: list[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _sums(when_current, model) -> list:
    columns = [func.sum(case((when_current, getattr(model, name)), else_=0)).label(name) for name in SUM_COLUMNS]
    return columns + [func.sum(case((when_current, 0), else_=model.ratings)).label("previous_ratings"),
                      func.sum(case((when_current, 0), else_=model.score_sum)).label("previous_score_sum")]


def totals_query(day_model, month_model, condition, start: date, end: date, previous_start: date, group_names: list[str]):
    """Sums per group for [start, end] and the count and score for [previous_start, start) (for the trend).

    `condition(model)` selects the subtree. The result may hold a group more than once (its month rows and its day
    rows come as separate rows): the caller adds them up."""
    if USE_ROLLUP:
        previous_months, previous_days = split(previous_start, start - timedelta(days=1))
        current_months, current_days = split(start, end)
        months, days = previous_months + current_months, _merged(previous_days + current_days)
    else:
        months, days = [], [(previous_start, end)]
    parts = []
    if days:
        groups = [getattr(day_model, name) for name in group_names]
        parts.append(select(*groups, *_sums(day_model.day >= start, day_model))
                     .where(condition(day_model), or_(*(day_model.day.between(low, high) for low, high in days)))
                     .group_by(*groups))
    if months:
        groups = [getattr(month_model, name) for name in group_names]
        parts.append(select(*groups, *_sums(month_model.month >= start, month_model))
                     .where(condition(month_model), month_model.month.in_(months)).group_by(*groups))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def models(by_employee: bool) -> tuple:
    return (EmployeeRatingDay, EmployeeRatingMonth) if by_employee else (UnitRatingDay, UnitRatingMonth)


def previous_start(start: date, end: date) -> date:
    return start - timedelta(days=(end - start).days + 1)
