"""`GET /api/v1/satisfaction`: aggregated satisfaction over a subtree, one level down (or per employee), with
the trend against the period before and the same units' on-time rate. Small groups are hidden, and so is whatever
would give them away: every answer of a period is read from one table of the whole tree, suppressed once
(`hub_reporting.satisfaction_table`, which says what that guarantees and what not)."""

from collections import defaultdict
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from hub_reporting.access import Unprocessable, reader, subtree_root, under
from hub_reporting.models import CaseFact
from hub_reporting.periods import BadPeriod, parse_period
from hub_reporting.reports_api import BAD_INPUT, PeriodView, _view
from hub_reporting.satisfaction import ASPECTS, models, previous_start, totals_query
from hub_reporting.satisfaction_table import SUBTREE, RatingTable, rating_table
from hub_reporting.settings import ReportingSettings
from hub_shared.auth import AUTH_RESPONSES, NATIONAL, Forbidden, Principal, Scope
from hub_shared.service import Runtime

SUMS = ("ratings", "score_sum", *(f"{a}_{part}" for a in ASPECTS for part in ("n", "sum")), "previous_ratings", "previous_score_sum")


class By(str, Enum):
    unit = "unit"
    employee = "employee"


class Satisfaction(BaseModel):
    key: str
    # "suppressed": nothing about the group is shown, because it has fewer ratings than the threshold or because it
    # would give such a group away (the total less the groups shown); which of the two is not said, as that too
    # would narrow them down
    hidden: str | None = None
    ratings: int | None = None
    average: float | None = None
    aspects: dict[str, float | None] | None = None
    previous_average: float | None = None
    trend: float | None = None
    on_time_rate: float | None = None


class SatisfactionView(BaseModel):
    unit: str
    by: By
    period: PeriodView
    min_group: int
    total: Satisfaction
    groups: list[Satisfaction]


def _present(key: str, cell: tuple, table: RatingTable, on_time: float | None) -> Satisfaction:
    if cell in table.hidden:
        return Satisfaction(key=key, hidden="suppressed")
    sums = table.sums[cell]
    average = round(sums["score_sum"] / sums["ratings"], 3) if sums["ratings"] else None
    shown_before = sums["previous_ratings"] and cell not in table.hidden_before
    before = round(sums["previous_score_sum"] / sums["previous_ratings"], 3) if shown_before else None
    aspects = {a: round(sums[f"{a}_sum"] / sums[f"{a}_n"], 3) if sums[f"{a}_n"] and cell not in table.hidden_aspects[a] else None
               for a in ASPECTS}
    return Satisfaction(key=key, ratings=sums["ratings"], average=average, aspects=aspects, previous_average=before,
                        trend=round(average - before, 3) if None not in (average, before) else None, on_time_rate=on_time)


def router(runtime: Runtime, settings: ReportingSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["satisfaction"])
    may_read = reader(runtime)

    @api.get("/satisfaction", response_model=SatisfactionView, responses={**AUTH_RESPONSES, **BAD_INPUT})
    async def satisfaction(
        principal: Annotated[Principal, Depends(may_read)],
        unit: Annotated[str | None, Query(max_length=200)] = None,
        period: Annotated[str | None, Query(max_length=16)] = None,
        start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
        by: By = By.unit,
    ) -> SatisfactionView:
        try:
            chosen = parse_period(period, start, end)
        except BadPeriod as error:
            raise Unprocessable.of(error) from None
        if by is By.employee and Scope.cases_read not in principal.scopes:
            raise Forbidden("Satisfaction per employee is for staff (cases:read).", "رضایت به تفکیک کارمند فقط برای کارکنان است.")
        first, last = chosen.first_day, chosen.last_day
        async with runtime.sessions() as session:
            root = await subtree_root(session, principal, unit)
            table = await _table(session, first, last, settings.min_group)
            on_time = await _on_time(session, root, chosen)
        rate = lambda key: _rate(on_time, key.split("#")[0], root, by)  # noqa: E731
        total = (SUBTREE, root)
        return SatisfactionView(unit=root, by=by, period=_view(chosen), min_group=settings.min_group,
                                total=_present(root, total, table, _all(on_time)) if total in table.sums else _nothing(root),
                                groups=[_present(key, cell, table, rate(key)) for key, cell in table.groups(root, by is By.employee)])

    return api


async def _table(session, first, last, threshold: int) -> RatingTable:
    """The period's table of the whole tree, per unit and per person named: every answer is read from it."""
    sums = []
    for by_person, columns in ((False, ["unit_id"]), (True, ["unit_id", "employee_id"])):
        query = totals_query(*models(by_person), lambda model: under(model.unit_id, NATIONAL), first, last,
                             previous_start(first, last), columns)
        groups: dict = defaultdict(lambda: dict.fromkeys(SUMS, 0))
        for row in (await session.execute(query)).all():
            key = (row.unit_id, row.employee_id) if by_person else row.unit_id
            for name in SUMS:
                groups[key][name] += getattr(row, name) or 0
        sums.append(dict(groups))
    units, people = sums
    # the two reads are two snapshots on SQLite: a person's ratings committed between them would name a unit with no
    # ratings of its own yet (every rating of a person counts in their unit's too); they show on the next read
    return rating_table(units, {key: row for key, row in people.items() if key[0] in units}, ASPECTS, threshold)


def _nothing(root: str) -> Satisfaction:
    return Satisfaction(key=root, ratings=0, aspects=dict.fromkeys(ASPECTS))


async def _on_time(session, root: str, period) -> dict[str, list[int]]:
    """Answered cases and on-time answers per holding unit in the subtree, over the same period."""
    rows = (await session.execute(
        select(CaseFact.unit_id, CaseFact.on_time).where(under(CaseFact.unit_id, root), CaseFact.answered_at.isnot(None),
                                                        CaseFact.on_time.isnot(None), CaseFact.answered_at >= period.start,
                                                        CaseFact.answered_at < period.end))).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for unit_id, on_time in rows:
        counts[unit_id][0] += 1
        counts[unit_id][1] += bool(on_time)
    return counts


def _all(counts: dict[str, list[int]]) -> float | None:
    judged = sum(n for n, _ in counts.values())
    return round(sum(good for _, good in counts.values()) / judged, 4) if judged else None


def _rate(counts: dict[str, list[int]], key: str, root: str, by: By) -> float | None:
    """On-time rate of the cases held at `key` or below it (for an employee: at their unit exactly)."""
    judged = ontime = 0
    for unit_id, (n, good) in counts.items():
        if unit_id == key or (by is By.unit and (key == root == "national" or unit_id.startswith(key + "/"))):
            judged, ontime = judged + n, ontime + good
    return round(ontime / judged, 4) if judged else None
