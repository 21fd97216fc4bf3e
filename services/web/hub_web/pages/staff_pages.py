"""What the managers' dashboards share: the signed-in user, their pages (the session cookie renewed at each), the
calls to reporting with the user's own short-lived token, units' names, and reporting's refusals in its own words.
The portal decides nothing about access: reporting does, from the token."""

import asyncio

import jdatetime
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from hub_shared.jalali import TEHRAN
from hub_shared.users import User
from hub_web.dashboard_export import XLSX, as_csv, as_xlsx
from hub_web.dashboard_tables import NATIONAL
from hub_web.i18n import language
from hub_web.persian import now_utc
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, Session
from hub_web.upstream import Answer

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


class Refused(Exception):
    """Reporting refused (its answer) or did not answer (None)."""

    def __init__(self, answer: Answer | None) -> None:
        super().__init__(answer.status if answer else "unavailable")
        self.answer = answer


class StaffPages:
    def __init__(self, portal: Portal) -> None:
        self.portal, self.desk, self.upstream = portal, portal.staff, portal.upstream

    def signed_in(self, request: Request) -> tuple[User, Session] | None:
        return self.desk.user_of(request.cookies.get(COOKIE))

    def page(self, request: Request, template: str, user: User, session: Session, status: int = 200, **context) -> Response:
        response = self.portal.render(request, template, status=status, staff=user, periods=periods(language(request)), **context)
        response.set_cookie(COOKIE, self.desk.cookie.seal(session), httponly=True, samesite="strict", path="/staff",
                            secure=self.portal.settings.secure_cookies, max_age=self.desk.cookie.longest)
        return response

    @staticmethod
    def to_sign_in() -> Response:
        response = RedirectResponse("/staff/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    def problem(self, request: Request, user: User, session: Session, answer: Answer | None) -> Response:
        """The service's refusal in its own words (401: sign in again; None: it did not answer)."""
        if answer is None:
            return self.page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status == 401:
            return self.to_sign_in()
        return self.page(request, "staff_problem.html", user, session, status=answer.status,
                         problem="not_found" if answer.status == 404 else "refused", body=answer.body)

    async def reporting(self, user: User, path: str, route: str, params: dict[str, str]) -> Answer:
        return await self.upstream.as_staff(self.upstream.reporting, path, self.desk.token_for(user), route, params)

    async def names(self, keys: list[str], lang: str) -> dict[str, str]:
        """Units' names in the page's language (an id routing does not know stays as it is); `unit#person` keys
        as the person and their unit."""
        units = sorted({key.split("#")[0] for key in keys if key != NATIONAL})
        found = await asyncio.gather(*(self.upstream.unit_name(unit) for unit in units))
        named = {unit: (name.get("name_en") if lang == "en" else None) or name["name_fa"] for unit, name in zip(units, found) if name}
        named[NATIONAL] = "سراسر کشور" if lang == "fa" else "Whole country"
        for key in keys:
            if "#" in key:
                unit, person = key.split("#", 1)
                named[key] = f"{person} ({named.get(unit, unit)})"
        return named


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


def period_of(typed: str) -> str:
    """The period as reporting reads it (`1405-09`, `1405-Q3`, ...) from any digits; the running month by default."""
    return " ".join(typed.translate(_DIGITS).split()).upper() or this_month()


def input_error(answer: Answer, lang: str) -> dict[str, str]:
    """Reporting's 422 beside the period field, or at the top for anything else (an unknown unit)."""
    code = (answer.body.get("error") or {}).get("code", "") if isinstance(answer.body, dict) else ""
    return {"period" if "period" in code or "date" in code or "range" in code else "form": reason(answer, lang)}


def reason(answer: Answer, lang: str) -> str:
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    detail = error or (answer.body.get("detail") if isinstance(answer.body.get("detail"), dict) else {})
    fallback = "درخواست پذیرفته نشد؛ دوباره تلاش کنید." if lang == "fa" else "The request was refused; try again."
    return detail.get("message_fa" if lang == "fa" else "message_en") or fallback


def download(tables, lang: str, threshold: int, name: str, fmt: str) -> Response | None:
    """The tables as a CSV or Excel file; None for another format."""
    if fmt == "csv":
        return Response(as_csv(tables, lang, threshold), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(as_xlsx(tables, lang, threshold), media_type=XLSX,
                        headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})
    return None
