"""The supervision view (the presidential people's-communication centre, supervisors): a case's status by
tracking code, the latest status changes, and the units one level down the user's subtree compared (for a
national user, the agencies), from reporting with the signed-in user's own token. Each part shows reporting's
own refusal where the user's role may not see it."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from hub_web.charts import bar_chart
from hub_web.dashboard_tables import sla_table
from hub_web.forms import ascii_code
from hub_web.i18n import STATUSES_EN, language
from hub_web.open_data import written
from hub_web.pages.staff_pages import StaffPages, period_of, reason
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

FEED_PAGE = 25
STATUSES_FA = {"registered": "ثبت شده", "referred": "ارجاع شده به واحد", "rejected": "مردود", "answered": "پاسخ داده شده",
               "reopened": "بازگشایی شده", "archived": "بایگانی شده", "returned": "اعاده شده", "awaiting_information": "در انتظار اطلاعات"}


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff")
    staff = StaffPages(portal)

    @api.get("/centre")
    async def centre(request: Request, code: str = "", cursor: str = "", period: str = ""):
        if (who := staff.signed_in(request)) is None:
            return staff.to_sign_in()
        user, session = who
        lang = language(request)
        code, period = ascii_code(code), period_of(period)
        feed_query = {"limit": str(FEED_PAGE), "latest": "true", **({"cursor": cursor} if cursor else {})}
        try:
            status = await staff.reporting(user, f"/api/v1/status/{code}", "/api/v1/status/{tracking_code}", {}) if code else None
            feed = await staff.reporting(user, "/api/v1/changes", "/api/v1/changes", feed_query)
            compared = await staff.reporting(user, "/api/v1/reports/cases", "/api/v1/reports/cases", {"period": period, "group_by": "unit"})
            keys = [g["key"] for g in compared.body.get("groups", [])] if compared.status == 200 else []
            keys += [c["unit_id"] for c in feed.body.get("changes", [])] if feed.status == 200 else []
            labels = await staff.names(keys, lang)
        except Unavailable:
            return staff.problem(request, user, session, None)
        if 401 in (feed.status, compared.status):
            return staff.to_sign_in()
        comparison = None
        if compared.status == 200:
            table, rows = sla_table(compared.body, labels, lang, lambda key: "/staff/reports?" + urlencode({"unit": key, "period": period}))
            comparison = (table, bar_chart(table, lang, 0), rows)
        return staff.page(request, "staff_dashboard_centre.html", user, session, code=code, period=period, cursor=cursor,
                          status_answer=status, feed=feed, compared=compared, comparison=comparison, labels=labels,
                          reason=lambda answer: reason(answer, lang), show=lambda number: written(number, lang, 0),
                          status_name=lambda s: (STATUSES_FA if lang == "fa" else STATUSES_EN).get(s, s))

    return api
