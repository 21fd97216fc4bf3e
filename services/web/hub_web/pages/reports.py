"""Periodic reports for managers and supervisors on the Jalali calendar (a month, quarter, half or year), from
reporting's `GET /api/v1/reports/cases` and `/reports/conduct` with the signed-in user's own token: cases on time
and overdue by unit with their escalations (drilling down), the slowest units, month by month, the most frequent
topics and complaints about staff conduct, each table beside its chart, and all of them as one CSV or Excel file."""

import asyncio
from urllib.parse import urlencode

import jdatetime
from fastapi import APIRouter, Request

from hub_shared.users import User
from hub_web.charts import bar_chart
from hub_web.dashboard_tables import (causes_table, conduct_table, crumbs, people_table, slowest_table, sla_table, trend_table)
from hub_web.i18n import language
from hub_web.open_data import written
from hub_web.pages.staff_pages import Refused, StaffPages, download, input_error, period_of
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

TREND_MONTHS = 6  # a month's report shows it with the five before it
CASES, CONDUCT = "/api/v1/reports/cases", "/api/v1/reports/conduct"


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff")
    staff = StaffPages(portal)

    async def report(request: Request, user: User, unit: str, period: str) -> dict:
        """The report's sections (each a table, its chart, its rows' links and its first column's name) and what
        the page says around them; `Refused` when reporting refuses the report (a bad period: 422)."""
        lang = language(request)
        t = lambda fa, en: fa if lang == "fa" else en  # noqa: E731
        query = _query(unit, period)
        cases = await staff.reporting(user, CASES, CASES, query | {"group_by": "unit"})
        if cases.status != 200:
            raise Refused(cases)
        body, root = cases.body, cases.body["unit"]
        conduct = await staff.reporting(user, CONDUCT, CONDUCT, query)
        conducted = conduct.body if conduct.status == 200 else None
        months = _months(body["period"])
        trend = await asyncio.gather(*(staff.reporting(user, CASES, CASES, query | {"period": month}) for month in months))
        labels = await staff.names([root, *(g["key"] for g in body["groups"]), *(g["key"] for g in body["ranking"]),
                                    *(r["unit_id"] for r in (conducted or {}).get("units", [])),
                                    *(r["unit_id"] for r in (conducted or {}).get("employees", []))], lang)
        drill = lambda key: None if key == root else "/staff/reports?" + urlencode({"unit": key, "period": period})  # noqa: E731
        sla, sla_rows = sla_table(body, labels, lang, drill)
        unit_column = t("واحد", "Unit")
        sections = [(sla, bar_chart(sla, lang, 0), sla_rows, unit_column), _plain(slowest_table(body, labels, lang), lang, unit_column),
                    _plain(trend_table([(m, a.body) for m, a in zip(months, trend) if a.status == 200], lang), lang, t("ماه", "Month")),
                    _plain(causes_table(body, lang), lang, t("موضوع", "Topic"))]
        if conducted:
            sections.append(_plain(conduct_table(conducted, labels, lang), lang, unit_column))
            if conducted["employees"]:
                sections.append(_plain(people_table(conducted, labels, lang), lang, t("کارمند", "Person")))
        return {"query": query | {"unit": root}, "report": body, "sections": sections, "root_name": labels.get(root, root),
                "trail": [(u, labels.get(u, u)) for u in crumbs(root, user.unit)],
                "downloads": {fmt: f"/staff/reports/download.{fmt}?" + urlencode(query | {"unit": root}) for fmt in ("csv", "xlsx")}}

    @api.get("/reports")
    async def reports(request: Request, unit: str = "", period: str = ""):
        if (who := staff.signed_in(request)) is None:
            return staff.to_sign_in()
        user, session = who
        lang = language(request)
        try:
            context = await report(request, user, unit, period_of(period))
        except Refused as refused:
            if refused.answer is not None and refused.answer.status == 422:
                return staff.page(request, "staff_dashboard_reports.html", user, session, status=422, sections=[],
                                  query=_query(unit, period_of(period)), errors=input_error(refused.answer, lang))
            return staff.problem(request, user, session, refused.answer)
        except Unavailable:
            return staff.problem(request, user, session, None)
        return staff.page(request, "staff_dashboard_reports.html", user, session, errors={},
                          show=lambda number: written(number, lang, 0), **context)

    @api.get("/reports/download.{fmt}")
    async def report_download(request: Request, fmt: str, unit: str = "", period: str = ""):
        """Every table of the report, as the page shows them, in one CSV or Excel file."""
        if (who := staff.signed_in(request)) is None:
            return staff.to_sign_in()
        user, session = who
        try:
            context = await report(request, user, unit, period_of(period))
        except Refused as refused:
            return staff.problem(request, user, session, refused.answer)
        except Unavailable:
            return staff.problem(request, user, session, None)
        tables = [(table, first) for table, _, _, first in context["sections"]]
        name = f"report-{context['query']['unit'].replace('/', '-')}-{context['report']['period']['label'].replace('..', '_')}"
        return download(tables, language(request), 0, name, fmt) or staff.page(request, "staff_problem.html", user, session,
                                                                               status=404, problem="not_found")

    return api


def _query(unit: str, period: str) -> dict[str, str]:
    return {"period": period, **({"unit": unit.strip()} if unit.strip() else {})}


def _plain(table, lang: str, first_column: str):
    """A section whose table has no total row and whose rows lead nowhere."""
    return table, bar_chart(table, lang, 0, total_row=False), None, first_column


def _months(period: dict) -> list[str]:
    """The Jalali months a report's period covers (`from_jalali`, `to_jalali`), or for one month the months
    ending with it: the trend's rows."""
    first = jdatetime.date(*map(int, period["from_jalali"].split("-")))
    last = jdatetime.date(*map(int, period["to_jalali"].split("-")))
    index = lambda day: day.year * 12 + day.month - 1  # noqa: E731
    start = index(first) if index(last) > index(first) else index(last) - TREND_MONTHS + 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(start, index(last) + 1)]
