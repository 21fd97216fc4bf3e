"""Visitors' satisfaction for managers and supervisors, from reporting's `GET /api/v1/satisfaction` with the
signed-in user's own token: reporting decides the subtree they may read, whether they may see it per person, and
which groups to hide. One level down the user's subtree (or per person), drilled down national →
agency → province → county → unit → person. Live: `/staff/satisfaction/events` sends the figures again
(server-sent events) whenever reporting's answer changes; without JavaScript a reload shows the same figures."""

import asyncio
import time
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from hub_web.charts import bar_chart
from hub_web.dashboard_tables import crumbs, satisfaction_table
from hub_web.i18n import language
from hub_web.open_data import written
from hub_web.pages.staff_pages import StaffPages, download, input_error, period_of
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE
from hub_web.upstream import Unavailable

STREAM_SECONDS = 600  # a stream ends after this; the browser opens a new one, which checks the session afresh
SATISFACTION = "/api/v1/satisfaction"


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff")
    staff = StaffPages(portal)

    async def figures_of(request: Request, data: dict, by: str, period: str) -> dict:
        """The figures' part of the page: the totals, the chart and the table with each unit's drill-down."""
        lang = language(request)
        labels = await staff.names([data["unit"], *(g["key"] for g in data["groups"])], lang)
        link = (lambda key: None) if by == "employee" else (  # noqa: E731
            lambda key: None if key == data["unit"] else "/staff/satisfaction?" + urlencode({"unit": key, "period": period}))
        table, rows = satisfaction_table(data, labels, lang, link)
        return {"data": data, "table": table, "rows": rows, "chart": bar_chart(table, lang, data["min_group"]),
                "show": lambda number: written(number, lang, data["min_group"])}

    @api.get("/satisfaction")
    async def satisfaction(request: Request, unit: str = "", period: str = "", by: str = "unit"):
        if (who := staff.signed_in(request)) is None:
            return staff.to_sign_in()
        user, session = who
        query = _query(unit, period_of(period), by)
        try:
            answer = await staff.reporting(user, SATISFACTION, SATISFACTION, query)
            if answer.status == 422:
                return staff.page(request, "staff_dashboard_satisfaction.html", user, session, status=422, query=query, figures=None,
                                  errors=input_error(answer, language(request)), trail=[], live="")
            if answer.status != 200:
                return staff.problem(request, user, session, answer)
            figures = await figures_of(request, answer.body, query["by"], query["period"])
            root = answer.body["unit"]
            levels = await staff.names(crumbs(root, user.unit), language(request))
        except Unavailable:
            return staff.problem(request, user, session, None)
        shown = query | {"unit": root}
        return staff.page(request, "staff_dashboard_satisfaction.html", user, session, query=shown, figures=figures, errors={},
                          trail=[(unit_id, levels.get(unit_id, unit_id)) for unit_id in crumbs(root, user.unit)],
                          live="/staff/satisfaction/events?" + urlencode(shown), download_query=urlencode(shown))

    @api.get("/satisfaction/events")
    async def satisfaction_events(request: Request, unit: str = "", period: str = "", by: str = "unit"):
        """Server-sent events: `figures` (the figures' part of the page) whenever reporting's answer changes, and
        `ended` when the session has ended or reporting refuses; 204 (the browser stops asking) without a session."""
        if staff.signed_in(request) is None:
            return Response(status_code=204)
        query = _query(unit, period_of(period), by)
        cookie = request.cookies.get(COOKIE)

        async def events():
            yield "retry: 3000\n\n"
            shown, started = None, time.monotonic()
            while time.monotonic() - started < STREAM_SECONDS:
                who = portal.staff.user_of(cookie)  # not renewed here: the idle timeout still counts from the last page
                if who is None:
                    yield "event: ended\ndata: signed-out\n\n"
                    return
                try:
                    answer = await staff.reporting(who[0], SATISFACTION, SATISFACTION, query)
                    if answer.status != 200:
                        yield "event: ended\ndata: refused\n\n"
                        return
                    if answer.body != shown:
                        part = portal.html(request, "staff_dashboard_figures.html",
                                           **await figures_of(request, answer.body, query["by"], query["period"]))
                        shown = answer.body
                        yield _event("figures", part)
                except Unavailable:
                    pass  # asked again at the next turn
                await asyncio.sleep(portal.settings.dashboard_refresh_seconds)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    @api.get("/satisfaction/download.{fmt}")
    async def satisfaction_download(request: Request, fmt: str, unit: str = "", period: str = "", by: str = "unit"):
        """The satisfaction table as the page shows it (hidden groups in words), as CSV or Excel."""
        if (who := staff.signed_in(request)) is None:
            return staff.to_sign_in()
        user, session = who
        query = _query(unit, period_of(period), by)
        try:
            answer = await staff.reporting(user, SATISFACTION, SATISFACTION, query)
            if answer.status != 200:
                return staff.problem(request, user, session, answer)
            figures = await figures_of(request, answer.body, query["by"], query["period"])
        except Unavailable:
            return staff.problem(request, user, session, None)
        lang = language(request)
        first = ("کارمند" if lang == "fa" else "Person") if query["by"] == "employee" else ("واحد" if lang == "fa" else "Unit")
        name = f"satisfaction-{answer.body['unit'].replace('/', '-')}-{answer.body['period']['label'].replace('..', '_')}"
        return download([(figures["table"], first)], lang, answer.body["min_group"], name, fmt) or staff.page(
            request, "staff_problem.html", user, session, status=404, problem="not_found")

    return api


def _query(unit: str, period: str, by: str) -> dict[str, str]:
    return {"period": period, "by": by if by == "employee" else "unit", **({"unit": unit.strip()} if unit.strip() else {})}


def _event(name: str, text: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in text.splitlines()) + "\n"
