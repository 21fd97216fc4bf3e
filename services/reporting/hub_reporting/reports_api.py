"""Periodic case reports on the Jalali calendar, and citizen-rights (staff conduct) monitoring."""

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlmodel import func, select

from hub_reporting.access import Unprocessable, child_of, reader, subtree_root, under
from hub_reporting.export import DOWNLOADS, download
from hub_reporting.models import CaseFact, CaseHistoryEntry
from hub_reporting.periods import BadPeriod, Period, parse_period
from hub_reporting.settings import ReportingSettings
from hub_reporting.statistics import Figures, Group, Ranked, TopicTrend, figures, grouped, ranking, top_topics
from hub_shared.auth import AUTH_RESPONSES, Principal, Scope
from hub_shared.calendar import Calendars
from hub_shared.events import CaseEscalated
from hub_shared.service import Runtime

CONDUCT_TOPICS = ("staff-conduct", "bribery-corruption")
BAD_INPUT = {422: {"description": "Unknown period format, inverted range or unknown unit; the body says which, in Persian and English"}}


class GroupBy(str, Enum):
    kind = "kind"
    topic = "topic"
    channel = "channel"
    outcome = "outcome"
    unit = "unit"


class Format(str, Enum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class PeriodView(BaseModel):
    label: str
    from_jalali: str
    to_jalali: str
    start_utc: datetime
    end_utc: datetime


class Escalations(BaseModel):
    key: str
    escalations: int


class CaseReport(BaseModel):
    unit: str
    period: PeriodView
    previous_period: PeriodView
    response_time_unit: str = "hours (calendar hours from registration to the final answer)"
    response_working_days_unit: str = ("working days after the day of registration up to the day of the final answer, "
                                       "on the working calendar of the unit that held the case (its week, holidays and "
                                       "closures, as deadlines are counted)")
    totals: Figures
    group_by: str | None
    groups: list[Group]
    top_topics: list[TopicTrend]
    min_cases: int
    ranking: list[Ranked]
    escalations: int = Field(0, description="escalations of the subtree's cases to the office above, in the period")
    escalations_by_unit: list[Escalations] = Field(default_factory=list, description=(
        "the same one level down the tree, each counted at the unit holding its case"))


class ConductRow(BaseModel):
    unit_id: str
    cases: int
    conduct_cases: int
    rate_per_100: float


class EmployeeConduct(BaseModel):
    employee_id: str
    unit_id: str
    conduct_cases: int


class ConductReport(BaseModel):
    unit: str
    period: PeriodView
    topics: list[str]
    units: list[ConductRow]
    hotspots: list[ConductRow]
    employees: list[EmployeeConduct]


def _view(period: Period) -> PeriodView:
    return PeriodView(label=period.label, from_jalali=period.first.isoformat(), to_jalali=period.last.isoformat(),
                      start_utc=period.start, end_utc=period.end)


def _key(group_by: GroupBy, root: str):
    return {GroupBy.kind: lambda f: f.kind, GroupBy.topic: lambda f: f.topic_id or "unclassified",
            GroupBy.channel: lambda f: f.channel, GroupBy.outcome: lambda f: f.outcome or "unanswered",
            GroupBy.unit: lambda f: child_of(root, f.unit_id)}[group_by]


def router(runtime: Runtime, settings: ReportingSettings, calendars: Calendars) -> APIRouter:
    api = APIRouter(prefix="/api/v1/reports", tags=["reports"])
    may_read = reader(runtime)

    async def scope(principal: Principal, unit: str | None, period: str | None, start: str | None, end: str | None):
        try:
            chosen = parse_period(period, start, end)
        except BadPeriod as error:
            raise Unprocessable.of(error) from None
        async with runtime.sessions() as session:
            root = await subtree_root(session, principal, unit)
        return root, chosen

    async def facts(root: str, period: Period) -> list[CaseFact]:
        async with runtime.sessions() as session:
            return list((await session.exec(select(CaseFact).where(under(CaseFact.unit_id, root), CaseFact.registered_at >= period.start,
                                                                   CaseFact.registered_at < period.end))).all())

    async def escalations(root: str, period: Period) -> list[Escalations]:
        """Escalations in the period, one level down from `root`, by the unit holding the case."""
        async with runtime.sessions() as session:
            rows = (await session.exec(
                select(CaseFact.unit_id, func.count()).join(CaseHistoryEntry, CaseHistoryEntry.case_id == CaseFact.case_id)
                .where(under(CaseFact.unit_id, root), CaseHistoryEntry.event_type == CaseEscalated.event_type,
                       CaseHistoryEntry.occurred_at >= period.start, CaseHistoryEntry.occurred_at < period.end)
                .group_by(CaseFact.unit_id))).all()
        counts: dict[str, int] = {}
        for unit_id, count in rows:
            counts[child_of(root, unit_id)] = counts.get(child_of(root, unit_id), 0) + count
        return [Escalations(key=key, escalations=count) for key, count in sorted(counts.items())]

    @api.get("/cases", response_model=CaseReport, responses={**AUTH_RESPONSES, **BAD_INPUT, **DOWNLOADS})
    async def case_report(
        principal: Annotated[Principal, Depends(may_read)],
        period: Annotated[str | None, Query(max_length=16, description="1405-09, 1405-Q3, 1405-H2 or 1405")] = None,
        start: Annotated[str | None, Query(alias="from", max_length=10, description="first Jalali day, 1405-01-01")] = None,
        end: Annotated[str | None, Query(alias="to", max_length=10, description="last Jalali day (inclusive), 1405-06-31")] = None,
        unit: Annotated[str | None, Query(max_length=200, description="root of the subtree; default the caller's unit")] = None,
        group_by: GroupBy | None = None,
        min_cases: Annotated[int | None, Query(ge=1, le=100_000)] = None,
        format: Format = Format.json,
    ):
        root, chosen = await scope(principal, unit, period, start, end)
        current, before = await facts(root, chosen), await facts(root, chosen.previous())
        now = datetime.now(UTC)
        report = CaseReport(
            unit=root, period=_view(chosen), previous_period=_view(chosen.previous()), totals=figures(current, now, calendars),
            group_by=group_by.value if group_by else None,
            groups=grouped(current, _key(group_by, root), now, calendars) if group_by else [],
            top_topics=top_topics(current, before), min_cases=min_cases or settings.min_cases,
            ranking=ranking(current, min_cases or settings.min_cases, now, calendars))
        report.escalations_by_unit = await escalations(root, chosen)
        report.escalations = sum(e.escalations for e in report.escalations_by_unit)
        if format is Format.json:
            return report
        rows = [g.model_dump() for g in report.groups] or [{"key": root, **report.totals.model_dump()}]
        return download(rows, f"cases-{chosen.label.replace('..', '_')}", format.value, list(Group.model_fields))

    @api.get("/conduct", response_model=ConductReport, responses={**AUTH_RESPONSES, **BAD_INPUT, **DOWNLOADS})
    async def conduct_report(
        principal: Annotated[Principal, Depends(may_read)],
        period: Annotated[str | None, Query(max_length=16)] = None,
        start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
        unit: Annotated[str | None, Query(max_length=200)] = None,
        min_cases: Annotated[int | None, Query(ge=1, le=100_000)] = None,
        format: Format = Format.json,
    ):
        """Complaints about how staff treat citizens (topics staff-conduct and bribery-corruption, and any case
        about a named employee) per holding unit and per employee; hotspots are the units with the highest rate
        per 100 cases among those with at least `min_cases` cases."""
        root, chosen = await scope(principal, unit, period, start, end)
        current = await facts(root, chosen)
        totals: dict[str, list[int]] = {}
        employees: dict[tuple[str, str], int] = {}
        staff = Scope.cases_read in principal.scopes  # employee names are for staff, not machine clients
        for fact in current:
            about = fact.topic_id in CONDUCT_TOPICS or fact.about_employee is not None
            counts = totals.setdefault(fact.unit_id, [0, 0])
            counts[0] += 1
            counts[1] += about
            if fact.about_employee and staff and fact.about_employee != principal.subject:  # never the cases about the caller
                employees[(fact.about_employee, fact.unit_id)] = employees.get((fact.about_employee, fact.unit_id), 0) + 1
        rows = [ConductRow(unit_id=u, cases=n, conduct_cases=c, rate_per_100=round(100 * c / n, 2)) for u, (n, c) in sorted(totals.items())]
        floor = min_cases or settings.min_cases
        hotspots = sorted((r for r in rows if r.cases >= floor and r.conduct_cases), key=lambda r: (-r.rate_per_100, r.unit_id))[:10]
        report = ConductReport(unit=root, period=_view(chosen), topics=list(CONDUCT_TOPICS), units=rows, hotspots=hotspots,
                               employees=[EmployeeConduct(employee_id=e, unit_id=u, conduct_cases=n)
                                          for (e, u), n in sorted(employees.items(), key=lambda item: (-item[1], item[0]))])
        if format is Format.json:
            return report
        return download([r.model_dump() for r in rows], f"conduct-{chosen.label.replace('..', '_')}", format.value,
                        list(ConductRow.model_fields))

    return api
