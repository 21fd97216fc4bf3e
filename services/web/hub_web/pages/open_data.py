"""Open data: for anyone, an agency's cases nationwide or in one province, as charts with their tables and a CSV
download. Every number comes from reporting's public aggregates (`GET /api/v1/open-data`), which hide small
counts before they leave reporting and publish only finished Jalali months; the portal only draws and writes them,
with the last month counted ("figures up to the end of Aban 1405")."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub_shared.ratelimit import client_ip
from hub_web.charts import bar_chart
from hub_web.open_data import as_csv, month_name, partial_period, tables, written
from hub_web.i18n import language
from hub_web.places import find, localised
from hub_web.persian import last_finished_month
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

PERIOD = re.compile(r"^\d{4}(-(\d{1,2}|Q[1-4]|H[12]))?$")


def router(portal: Portal) -> APIRouter:
    api = APIRouter()

    async def scope(request: Request, agency: str, province: str | None, period: str | None):
        """(places, reporting's answer) for a known agency and province, or the problem page to show instead."""
        try:
            places = await portal.upstream.places()
            places = localised(places, language(request))
            known = find(places["agencies"], agency) and (province is None or find(places["provinces"], province))
            if not known or (period is not None and not PERIOD.fullmatch(period)):
                return None, portal.render(request, "problem.html", status=404, problem="not_found")
            query = {"agency": agency, **({"province": province} if province else {}), **({"period": period} if period else {})}
            answer = await portal.upstream.open_data(query, client_ip(request))
        except Unavailable:
            return None, portal.render(request, "problem.html", status=503, problem="unavailable")
        if answer.status == 429:
            return None, portal.render(request, "problem.html", status=429, problem="busy")
        error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
        if answer.status == 422 and error.get("code") == "unfinished_period":  # the running month, or a later one
            through = error.get("complete_through", "")
            base = f"/open-data/{agency}" + (f"/{province}" if province else "")
            return None, portal.render(request, "problem.html", status=422, problem="unfinished_period", body=answer.body,
                                       latest=base, through=through, through_name=month_name(through, language(request)) if through else "")
        if answer.status != 200:
            return None, portal.render(request, "problem.html", status=404, problem="not_found")
        return (places, answer.body), None

    async def page(request: Request, agency: str, province: str | None, period: str | None):
        found, problem = await scope(request, agency, province, period)
        if problem:
            return problem
        places, data = found
        lang = language(request)
        sections = tables(data, lang)
        base = f"/open-data/{agency}" + (f"/{province}" if province else "")
        return portal.render(request, "open_data.html", data=data, sections=sections,
                             charts=[bar_chart(section, lang, data["threshold"]) for section in sections],
                             show=lambda number: written(number, lang, data["threshold"]),
                             agency_place=find(places["agencies"], agency), province_place=find(places["provinces"], province),
                             provinces=places["provinces"], agency=agency, province=province,
                             period_text=_period_text(data["months"], lang), partial=partial_period(data), base=base,
                             complete_through=month_name(data["complete_through"], lang),
                             years=sorted({month["month"][:4] for month in data["months"]}),
                             csv_link=base + "/download.csv" + (f"?period={period}" if period else ""))

    async def download(request: Request, agency: str, province: str | None, period: str | None):
        found, problem = await scope(request, agency, province, period)
        if problem:
            return problem
        _, data = found
        lang = language(request)
        name = f"open-data-{agency}" + (f"-{province}" if province else "") + f"-{data['period']['label'].replace('..', '_')}.csv"
        return Response(as_csv(tables(data, lang), lang, data["threshold"]), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"'})

    @api.get("/open-data")
    async def index(request: Request):
        try:
            places = await portal.upstream.places()
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        places = localised(places, language(request))
        return portal.render(request, "open_data_index.html", agencies=places["agencies"], provinces=places["provinces"],
                             complete_through=month_name(last_finished_month(), language(request)))

    @api.get("/open-data/{agency}/download.csv")
    async def agency_csv(request: Request, agency: str, period: str | None = None):
        return await download(request, agency, None, period)

    @api.get("/open-data/{agency}/{province}/download.csv")
    async def province_csv(request: Request, agency: str, province: str, period: str | None = None):
        return await download(request, agency, province, period)

    @api.get("/open-data/{agency}")
    async def agency_page(request: Request, agency: str, period: str | None = None):
        return await page(request, agency, None, period)

    @api.get("/open-data/{agency}/{province}")
    async def province_page(request: Request, agency: str, province: str, period: str | None = None):
        return await page(request, agency, province, period)

    return api


def _period_text(months: list[dict], lang: str) -> str:
    """`دی ۱۴۰۴ تا آبان ۱۴۰۵` (or `Dey 1404 to Aban 1405`): the first and last month shown, which for a period
    reaching into the month still running is its last finished month."""
    first, last = month_name(months[0]["month"], lang), month_name(months[-1]["month"], lang)
    if first == last:
        return first
    return f"{first} {'تا' if lang == 'fa' else 'to'} {last}"
