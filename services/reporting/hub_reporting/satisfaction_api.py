"""`GET /api/v1/satisfaction`: aggregated satisfaction over a subtree, one level down (or per employee), with
the trend against the period before and the same units' on-time rate. Small groups are hidden."""

from collections import defaultdict
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from hub_reporting.access import Unprocessable, child_of, reader, subtree_root, under
from hub_reporting.models import CaseFact
from hub_reporting.periods import BadPeriod, parse_period
from hub_reporting.reports_api import BAD_INPUT, PeriodView, _view
from hub_reporting.satisfaction import ASPECTS, models, previous_start, totals_query
from hub_reporting.settings import ReportingSettings
from hub_shared.auth import AUTH_RESPONSES, Forbidden, Principal, Scope
from hub_shared.service import Runtime

SUMS = ("ratings", "score_sum", *(f"{a}_{part}" for a in ASPECTS for part in ("n", "sum")), "previous_ratings", "previous_score_sum")


class By(str, Enum):
    unit = "unit"
    employee = "employee"


class Satisfaction(BaseModel):
    key: str
    hidden: str | None = None  # "too few": fewer ratings than the threshold, so nothing about the group is shown
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


def _present(key: str, sums: dict, floor: int, on_time: float | None) -> Satisfaction:
    if sums["ratings"] < floor:
        return Satisfaction(key=key, hidden="too few")
    average = round(sums["score_sum"] / sums["ratings"], 3)
    before = round(sums["previous_score_sum"] / sums["previous_ratings"], 3) if sums["previous_ratings"] >= floor else None
    aspects = {a: round(sums[f"{a}_sum"] / sums[f"{a}_n"], 3) if sums[f"{a}_n"] >= floor else None for a in ASPECTS}
    return Satisfaction(key=key, ratings=sums["ratings"], average=average, aspects=aspects, previous_average=before,
                        trend=round(average - before, 3) if before is not None else None, on_time_rate=on_time)


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
            day_model, month_model = models(by is By.employee)
            columns = ["unit_id", "employee_id"] if by is By.employee else ["unit_id"]
            rows = (await session.execute(totals_query(day_model, month_model, lambda model: under(model.unit_id, root), first, last,
                                                       previous_start(first, last), columns))).all()
            on_time = await _on_time(session, root, chosen)
        groups: dict[str, dict] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
        total = dict.fromkeys(SUMS, 0)
        for row in rows:
            key = f"{row.unit_id}#{row.employee_id}" if by is By.employee else child_of(root, row.unit_id)
            for name in SUMS:
                value = getattr(row, name) or 0
                groups[key][name] += value
                total[name] += value
        floor = settings.min_group
        rate = lambda key: _rate(on_time, key.split("#")[0], root, by)  # noqa: E731
        return SatisfactionView(unit=root, by=by, period=_view(chosen), min_group=floor,
                                total=_present(root, total, floor, _all(on_time)),
                                groups=[_present(key, sums, floor, rate(key)) for key, sums in sorted(groups.items())])

    return api


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
