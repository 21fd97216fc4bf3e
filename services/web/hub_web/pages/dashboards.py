"""The managers' and supervisors' dashboards and the presidential centre's view, all from reporting's APIs, each
call with the signed-in user's own short-lived token: reporting decides the subtree a user may read, whether they
may see satisfaction per person, and which groups are too small to show. The portal only draws its answers.

- `/staff/satisfaction`: satisfaction one level down the user's subtree (or per person), drilled down national →
  agency → province → county → unit → person; live: `/staff/satisfaction/events` sends the figures again
  (server-sent events) whenever reporting's answer changes, and without JavaScript a reload shows them.
- `/staff/reports`: a Jalali month, quarter, half or year: cases on time and overdue by unit, the slowest units,
  month by month, the most frequent topics and complaints about staff conduct; CSV and Excel downloads.
- `/staff/centre`: a case's status by tracking code, the change feed, and the units one level down compared
  (for a national user, the agencies)."""

import asyncio
import time
from urllib.parse import urlencode

import jdatetime
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hub_shared.jalali import TEHRAN
from hub_shared.users import User
from hub_web.charts import bar_chart
from hub_web.dashboard_export import XLSX, as_csv, as_xlsx
from hub_web.dashboard_tables import (NATIONAL, causes_table, conduct_table, crumbs, people_table, satisfaction_table, slowest_table,
                                      sla_table, trend_table)
from hub_web.forms import ascii_code
from hub_web.i18n import STATUSES_EN, language
from hub_web.open_data import written
from hub_web.persian import now_utc
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, Session
from hub_web.upstream import Answer, Unavailable

STREAM_SECONDS = 600  # a stream ends after this; the browser opens a new one, which checks the session afresh
FEED_PAGE = 25
TREND_MONTHS = 6  # a month's report shows it with the five before it
STATUSES_FA = {"registered": "ثبت شده", "referred": "ارجاع شده به واحد", "rejected": "مردود", "answered": "پاسخ داده شده",
               "reopened": "بازگشایی شده", "archived": "بایگانی شده", "returned": "اعاده شده", "awaiting_information": "در انتظار اطلاعات"}


def this_month() -> str:
    today = jdatetime.date.fromgregorian(date=now_utc().astimezone(TEHRAN).date())
    return f"{today.year}-{today.month:02d}"


def periods(lang: str) -> list[tuple[str, str]]:
    """The periods a report is usually asked for, on the Jalali calendar: this month, quarter, half and year, and
    the year before."""
    year, month = map(int, this_month().split("-"))
    t = lambda fa, en: fa if lang == "fa" else en  # noqa: E731
    return [(f"{year}-{month:02d}", t("این ماه", "This month")), (f"{year}-Q{(month - 1) // 3 + 1}", t("این فصل", "This quarter")),
            (f"{year}-H{(month - 1) // 6 + 1}", t("این نیم‌سال", "This half-year")), (str(year), t("امسال", "This year")),
            (str(year - 1), t("سال گذشته", "Last year"))]


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff")
    desk, upstream = portal.staff, portal.upstream

    def signed_in(request: Request) -> tuple[User, Session] | None:
        return desk.user_of(request.cookies.get(COOKIE))

    def page(request: Request, template: str, user: User, session: Session, status: int = 200, **context) -> Response:
        response = portal.render(request, template, status=status, staff=user, periods=periods(language(request)), **context)
        response.set_cookie(COOKIE, desk.cookie.seal(session), httponly=True, samesite="strict", path="/staff",
                            secure=portal.settings.secure_cookies, max_age=desk.cookie.longest)
        return response

    def to_sign_in() -> Response:
        response = RedirectResponse("/staff/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    def problem(request: Request, user: User, session: Session, answer: Answer | None) -> Response:
        """The service's refusal in its own words (401: sign in again; None: it did not answer)."""
        if answer is None:
            return page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status == 401:
            return to_sign_in()
        return page(request, "staff_problem.html", user, session, status=answer.status,
                    problem="not_found" if answer.status == 404 else "refused", body=answer.body)

    async def reporting(user: User, path: str, route: str, params: dict[str, str]) -> Answer:
        return await upstream.as_staff(upstream.reporting, path, desk.token_for(user), route, params)

    async def names(keys: list[str], lang: str) -> dict[str, str]:
        """Units' names in the page's language (an id routing does not know stays as it is)."""
        units = sorted({key.split("#")[0] for key in keys if key != NATIONAL})
        found = await asyncio.gather(*(upstream.unit_name(unit) for unit in units))
        named = {unit: (name.get("name_en") if lang == "en" else None) or name["name_fa"] for unit, name in zip(units, found) if name}
        named[NATIONAL] = "سراسر کشور" if lang == "fa" else "Whole country"
        for key in keys:
            if "#" in key:
                unit, person = key.split("#", 1)
                named[key] = f"{person} ({named.get(unit, unit)})"
        return named

    # --- satisfaction, live ---

    def satisfaction_query(unit: str, period: str, by: str) -> dict[str, str]:
        return {"period": period, "by": by if by == "employee" else "unit", **({"unit": unit} if unit else {})}

    async def satisfaction_figures(request: Request, data: dict, by: str, period: str) -> dict:
        lang = language(request)
        labels = await names([data["unit"], *(g["key"] for g in data["groups"])], lang)
        link = (lambda key: None) if by == "employee" else (  # noqa: E731
            lambda key: None if key == data["unit"] else "/staff/satisfaction?" + urlencode({"unit": key, "period": period}))
        table, rows = satisfaction_table(data, labels, lang, link)
        return {"data": data, "table": table, "rows": rows, "chart": bar_chart(table, lang, data["min_group"]), "labels": labels,
                "show": lambda number: written(number, lang, data["min_group"])}

    @api.get("/satisfaction")
    async def satisfaction(request: Request, unit: str = "", period: str = "", by: str = "unit"):
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        period = _period(period)
        query = satisfaction_query(unit.strip(), period, by)
        try:
            answer = await reporting(user, "/api/v1/satisfaction", "/api/v1/satisfaction", query)
            if answer.status == 422:
                return page(request, "staff_dashboard_satisfaction.html", user, session, status=422, query=query, figures=None,
                            errors=_input_error(answer, language(request)), trail=[], live="")
            if answer.status != 200:
                return problem(request, user, session, answer)
            figures = await satisfaction_figures(request, answer.body, query["by"], period)
            root = answer.body["unit"]
            levels = await names(crumbs(root, user.unit), language(request))
        except Unavailable:
            return problem(request, user, session, None)
        trail = [(unit_id, levels.get(unit_id, unit_id)) for unit_id in crumbs(root, user.unit)]
        return page(request, "staff_dashboard_satisfaction.html", user, session, query=query | {"unit": root}, figures=figures,
                    errors={}, trail=trail, live="/staff/satisfaction/events?" + urlencode(query | {"unit": root}),
                    download_query=urlencode(query | {"unit": root}))

    @api.get("/satisfaction/events")
    async def satisfaction_events(request: Request, unit: str = "", period: str = "", by: str = "unit"):
        """Server-sent events: `figures` (the figures' part of the page) whenever reporting's answer changes, and
        `ended` when the session has ended or reporting refuses; 204 (the browser stops asking) without a session."""
        if signed_in(request) is None:
            return Response(status_code=204)
        query = satisfaction_query(unit.strip(), _period(period), by)
        cookie = request.cookies.get(COOKIE)
        every = portal.settings.dashboard_refresh_seconds

        async def events():
            yield "retry: 3000\n\n"
            shown, started = None, time.monotonic()
            while time.monotonic() - started < STREAM_SECONDS:
                who = desk.user_of(cookie)  # the cookie is not renewed here: the idle timeout still counts from the last page
                if who is None:
                    yield "event: ended\ndata: signed-out\n\n"
                    return
                try:
                    answer = await reporting(who[0], "/api/v1/satisfaction", "/api/v1/satisfaction", query)
                except Unavailable:
                    answer = None
                if answer is not None and answer.status != 200:
                    yield "event: ended\ndata: refused\n\n"
                    return
                if answer is not None and answer.body != shown:
                    shown = answer.body
                    try:
                        figures = await satisfaction_figures(request, answer.body, query["by"], query["period"])
                    except Unavailable:
                        shown = None
                    else:
                        yield _event("figures", portal.html(request, "staff_dashboard_figures.html", **figures))
                await asyncio.sleep(every)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    @api.get("/satisfaction/download.{fmt}")
    async def satisfaction_download(request: Request, fmt: str, unit: str = "", period: str = "", by: str = "unit"):
        """The satisfaction table as the page shows it (hidden groups in words), as CSV or Excel."""
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        query = satisfaction_query(unit.strip(), _period(period), by)
        try:
            answer = await reporting(user, "/api/v1/satisfaction", "/api/v1/satisfaction", query)
            if answer.status != 200:
                return problem(request, user, session, answer)
            figures = await satisfaction_figures(request, answer.body, query["by"], query["period"])
        except Unavailable:
            return problem(request, user, session, None)
        lang = language(request)
        first = ("کارمند" if lang == "fa" else "Person") if query["by"] == "employee" else ("واحد" if lang == "fa" else "Unit")
        name = f"satisfaction-{answer.body['unit'].replace('/', '-')}-{answer.body['period']['label'].replace('..', '_')}"
        return _file([(figures["table"], first)], lang, answer.body["min_group"], name, fmt) or page(
            request, "staff_problem.html", user, session, status=404, problem="not_found")

    # --- periodic reports ---

    def report_query(unit: str, period: str) -> dict[str, str]:
        return {"period": period, **({"unit": unit} if unit else {})}

    async def report(request: Request, user: User, unit: str, period: str) -> dict:
        """The periodic report's sections (each a table, its chart and its rows' links) and what the page says
        around them; `Refused` when reporting refuses the main report (a bad period: 422)."""
        lang = language(request)
        query = report_query(unit.strip(), period)
        cases = await reporting(user, "/api/v1/reports/cases", "/api/v1/reports/cases", query | {"group_by": "unit"})
        if cases.status != 200:
            raise Refused(cases)
        conduct = await reporting(user, "/api/v1/reports/conduct", "/api/v1/reports/conduct", query)
        months = _months(cases.body["period"])
        trend = await asyncio.gather(*(reporting(user, "/api/v1/reports/cases", "/api/v1/reports/cases", {**query, "period": month})
                                       for month in months))
        body, root = cases.body, cases.body["unit"]
        conducted = conduct.body if conduct.status == 200 else None
        labels = await names([root, *(g["key"] for g in body["groups"]), *(g["key"] for g in body["ranking"]),
                              *(r["unit_id"] for r in (conducted or {}).get("units", [])),
                              *(r["unit_id"] for r in (conducted or {}).get("employees", []))], lang)
        drill = lambda key: None if key == root else "/staff/reports?" + urlencode({"unit": key, "period": period})  # noqa: E731
        sla, sla_rows = sla_table(body, labels, lang, drill)
        t = lambda fa, en: fa if lang == "fa" else en  # noqa: E731
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
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        lang = language(request)
        try:
            context = await report(request, user, unit, _period(period))
        except Refused as refused:
            if refused.answer is not None and refused.answer.status == 422:
                return page(request, "staff_dashboard_reports.html", user, session, status=422, sections=[],
                            query=report_query(unit.strip(), _period(period)), errors=_input_error(refused.answer, lang))
            return problem(request, user, session, refused.answer)
        except Unavailable:
            return problem(request, user, session, None)
        return page(request, "staff_dashboard_reports.html", user, session, errors={}, show=lambda number: written(number, lang, 0),
                    **context)

    @api.get("/reports/download.{fmt}")
    async def report_download(request: Request, fmt: str, unit: str = "", period: str = ""):
        """Every table of the report, as the page shows them, in one CSV or Excel file."""
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        try:
            context = await report(request, user, unit, _period(period))
        except Refused as refused:
            return problem(request, user, session, refused.answer)
        except Unavailable:
            return problem(request, user, session, None)
        tables = [(table, first) for table, _, _, first in context["sections"]]
        name = f"report-{context['query']['unit'].replace('/', '-')}-{context['report']['period']['label'].replace('..', '_')}"
        return _file(tables, language(request), 0, name, fmt) or page(request, "staff_problem.html", user, session, status=404,
                                                                      problem="not_found")

    # --- the presidential centre's view ---

    @api.get("/centre")
    async def centre(request: Request, code: str = "", cursor: str = "", period: str = ""):
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        lang = language(request)
        code, period = ascii_code(code), _period(period)
        try:
            status = await reporting(user, f"/api/v1/status/{code}", "/api/v1/status/{tracking_code}", {}) if code else None
            feed = await reporting(user, "/api/v1/changes", "/api/v1/changes", {"limit": str(FEED_PAGE), "latest": "true", **({"cursor": cursor} if cursor else {})})
            compared = await reporting(user, "/api/v1/reports/cases", "/api/v1/reports/cases", {"period": period, "group_by": "unit"})
            keys = [g["key"] for g in compared.body.get("groups", [])] if compared.status == 200 else []
            keys += [c["unit_id"] for c in feed.body.get("changes", [])] if feed.status == 200 else []
            labels = await names(keys, lang)
        except Unavailable:
            return problem(request, user, session, None)
        if 401 in (feed.status, compared.status):
            return to_sign_in()
        comparison = None
        if compared.status == 200:
            table, rows = sla_table(compared.body, labels, lang,
                                    lambda key: "/staff/reports?" + urlencode({"unit": key, "period": period}))
            comparison = (table, bar_chart(table, lang, 0), rows, "")
        return page(request, "staff_dashboard_centre.html", user, session, code=code, period=period, status_answer=status, cursor=cursor,
                    feed=feed, compared=compared, comparison=comparison, labels=labels, reason=lambda a: _reason(a, lang),
                    status_name=lambda s: (STATUSES_FA if lang == "fa" else STATUSES_EN).get(s, s),
                    show=lambda number: written(number, lang, 0))

    return api


def _period(typed: str) -> str:
    """The period as reporting reads it (`1405-09`, `1405-Q3`, ...) from any digits; the running month by default."""
    return " ".join(typed.translate(_DIGITS).split()).upper() or this_month()


_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


class Refused(Exception):
    def __init__(self, answer: Answer | None) -> None:
        super().__init__(answer.status if answer else "unavailable")
        self.answer = answer


def _plain(table, lang: str, first_column: str):
    return table, bar_chart(table, lang, 0, total_row=False), None, first_column


def _file(tables, lang: str, threshold: int, name: str, fmt: str) -> Response | None:
    if fmt == "csv":
        return Response(as_csv(tables, lang, threshold), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(as_xlsx(tables, lang, threshold), media_type=XLSX,
                        headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})
    return None


def _months(period: dict) -> list[str]:
    """The Jalali months a report's period covers (`from_jalali`, `to_jalali`), or for one month the months
    ending with it: the trend's rows."""
    first = jdatetime.date(*map(int, period["from_jalali"].split("-")))
    last = jdatetime.date(*map(int, period["to_jalali"].split("-")))
    index = lambda day: day.year * 12 + day.month - 1  # noqa: E731
    start = index(first) if index(last) > index(first) else index(last) - TREND_MONTHS + 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(start, index(last) + 1)]


def _input_error(answer: Answer, lang: str) -> dict[str, str]:
    """Reporting's 422 beside the period field, or at the top for anything else (an unknown unit)."""
    code = (answer.body.get("error") or {}).get("code", "") if isinstance(answer.body, dict) else ""
    return {"period" if "period" in code or "date" in code or "range" in code else "form": _reason(answer, lang)}


def _reason(answer: Answer, lang: str) -> str:
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    detail = error or (answer.body.get("detail") if isinstance(answer.body.get("detail"), dict) else {})
    fallback = "درخواست پذیرفته نشد؛ دوباره تلاش کنید." if lang == "fa" else "The request was refused; try again."
    return detail.get("message_fa" if lang == "fa" else "message_en") or fallback


def _event(name: str, text: str) -> str:
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in text.splitlines()) + "\n"
