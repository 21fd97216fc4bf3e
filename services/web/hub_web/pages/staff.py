"""The staff's pages: sign-in (`hub_web.staff_auth`), the cartable (follow-up's inbox of the user's unit and the
units below it) and a case, read-only and without the complainant's personal data (intake's staff view). Every
call carries the user's own short-lived token, so the services decide: a page shows what the service answered,
or the reason it gave for refusing. Case ids (random UUIDs) are the only thing about a case in a URL; the
cartable's search and filters (`hub_web.cartable`) are codes and labels, none of them personal data."""

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub_shared.access import ROLE_SCOPES, Scope
from hub_shared.calendar import Calendars
from hub_shared.users import User
from hub_web.cartable import CHANNELS, RISKS, inbox_params, read_filters, risk, search_terms, tabs, topic_names, unit_choices
from hub_web.i18n import language
from hub_web.pages.ops import may_operate
from hub_web.persian import now_utc, parse_moment, persian_digits
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, FAILURES_ALLOWED, LOCKOUT_MINUTES, Session
from hub_web.upstream import Answer, Unavailable

SIGN_IN = "/staff/sign-in"
STAGES = {
    "in_progress": ("در حال رسیدگی", "In progress"),
    "awaiting_information": ("در انتظار اطلاعات شهروند", "Awaiting the citizen's information"),
    "responded": ("پاسخ واحد ثبت شده", "Unit has responded"),
    "opinion_given": ("نظر کارشناسی ثبت شده", "Expert opinion given"),
    "rework": ("بازگشت برای اصلاح", "Returned for rework"),
}
PAGE_SIZE = 50
MIN_PURPOSE, MAX_PURPOSE = 10, 500  # as intake's complainant endpoint


def router(portal: Portal, calendars: Calendars, case_extras=None) -> APIRouter:
    """`case_extras(request, user, case)`: more for the case page (the work on it, `hub_web.pages.casework`)."""
    api = APIRouter(prefix="/staff")
    desk = portal.staff

    def signed_in(request: Request) -> tuple[User, Session] | None:
        return desk.user_of(request.cookies.get(COOKIE))

    def page(request: Request, template: str, user: User, session: Session, status: int = 200, **context) -> Response:
        response = portal.render(request, template, status=status, staff=user, **context)
        keep(response, session)
        return response

    def keep(response: Response, session: Session) -> None:
        """The session cookie, signed anew with this page's time: the idle timeout counts from here."""
        response.set_cookie(COOKIE, desk.cookie.seal(session), httponly=True, samesite="strict", path="/staff",
                            secure=portal.settings.secure_cookies, max_age=desk.cookie.longest)

    def to_sign_in() -> Response:
        response = RedirectResponse(SIGN_IN, status_code=303)
        response.delete_cookie(COOKIE, path="/staff")
        return response

    def sign_in_page(request: Request, status: int = 200, **context) -> Response:
        return portal.render(request, "staff_sign_in.html", status=status, values=context.pop("values", {}), failures=FAILURES_ALLOWED,
                             sso=portal.oidc.enabled,
                             lockout_minutes=LOCKOUT_MINUTES, idle_minutes=portal.settings.staff_idle_minutes, **context)

    def refusal(request: Request, user: User, session: Session, answer: Answer) -> Response:
        """The service's refusal, in its own words (403: the reason; 404: no such case); 401: sign in again."""
        if answer.status == 401:
            return to_sign_in()
        problem = "not_found" if answer.status == 404 else "refused"
        return page(request, "staff_problem.html", user, session, status=answer.status, problem=problem, body=answer.body)

    @api.get("/sign-in")
    async def sign_in_form(request: Request):
        if signed_in(request):
            return RedirectResponse("/staff", status_code=303)
        return sign_in_page(request)

    @api.post("/sign-in")
    async def sign_in(request: Request):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        name, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        lang = language(request)
        if not name or not password:
            return sign_in_page(request, status=422, values={"username": name}, errors={"form": _MISSING[lang == "en"]})
        outcome = await run_in_threadpool(desk.sign_in, name, password)  # Argon2, and a rehash's write: off the event loop
        if not isinstance(outcome, Session):
            status, message = (429, _locked(lang)) if outcome == "locked" else (401, _WRONG[lang == "en"])
            return sign_in_page(request, status=status, values={"username": name}, errors={"form": message})
        response = RedirectResponse("/staff", status_code=303)
        keep(response, outcome)
        return response

    @api.post("/sign-out")
    async def sign_out(request: Request):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        response = sign_in_page(request, notice=_SIGNED_OUT[language(request) == "en"])
        response.delete_cookie(COOKIE, path="/staff")
        return response

    @api.get("")
    async def cartable(request: Request, code: str = "", kind: str = "", topic: str = "", channel: str = "", stage: str = "",
                       unit: str = "", overdue: str = "", offset: int = 0):
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        if may_operate(user) and Scope.cases_read not in (set(user.scopes) or ROLE_SCOPES[user.role]):
            return RedirectResponse("/staff/ops", status_code=303)  # an operator holds no cases: the console is their desk
        filters = read_filters(code, kind, topic, channel, stage, unit, overdue, STAGES)
        search, errors = search_terms(filters.code), {}
        if search is None:
            errors["code"] = _BAD_CODE[language(request) == "en"]
        params = inbox_params(filters, search or {}) | {"limit": str(PAGE_SIZE), "offset": str(max(0, offset))}
        token = desk.token_for(user)
        try:
            answer = await portal.upstream.as_staff(portal.upstream.followup, "/api/v1/inbox", token, "/api/v1/inbox", params)
        except Unavailable:
            return page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status != 200:
            return refusal(request, user, session, answer)
        now = now_utc()
        items = [item | {"days_left": _days_left(calendars, item, now), "overdue": _overdue(item, now)} for item in answer.body["items"]]
        items = [item | {"risk": risk(item["days_left"], item["overdue"])} for item in items]
        return page(request, "staff_inbox.html", user, session, inbox=answer.body, items=items, errors=errors, values=filters,
                    stages=STAGES, filtered=filters.any, tabs=tabs(filters, answer.body.get("tabs", {}), STAGES), risks=RISKS,
                    topics=topic_names(), channels=CHANNELS, units=await unit_choices(portal.upstream, token, user.unit, filters.unit))

    @api.get("/cases/{case_id}")
    async def case(request: Request, case_id: UUID):
        if (who := signed_in(request)) is None:
            return to_sign_in()
        return await case_page(request, *who, case_id)

    @api.post("/cases/{case_id}/complainant")
    async def complainant(request: Request, case_id: UUID):
        """The complainant's personal data for a stated purpose: intake checks the role and the case and writes the
        read and its purpose to the audit log. A POST, so the answer is a page of its own that no URL brings back."""
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        if (who := signed_in(request)) is None:
            return to_sign_in()
        user, session = who
        purpose = " ".join(str(form.get("purpose") or "").split())
        if not MIN_PURPOSE <= len(purpose) <= MAX_PURPOSE:
            return await case_page(request, user, session, case_id, status=422, purpose=purpose,
                                   errors={"purpose": _PURPOSE[language(request) == "en"]})
        try:
            answer = await portal.upstream.as_staff(portal.upstream.intake, f"/api/v1/cases/{case_id}/complainant", desk.token_for(user),
                                                    "/api/v1/cases/{case_id}/complainant", {"purpose": purpose})
        except Unavailable:
            return page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status != 200:
            return refusal(request, user, session, answer)
        return await case_page(request, user, session, case_id, person=answer.body, purpose=purpose)

    async def case_page(request: Request, user: User, session: Session, case_id: UUID, status: int = 200, **extra) -> Response:
        path = f"/api/v1/cases/{case_id}"
        try:
            answer = await portal.upstream.as_staff(portal.upstream.intake, path, desk.token_for(user), "/api/v1/cases/{case_id}")
        except Unavailable:
            return page(request, "staff_problem.html", user, session, status=503, problem="unavailable")
        if answer.status != 200:
            return refusal(request, user, session, answer)
        detail = answer.body
        if case_extras is not None:
            extra = await case_extras(request, user, detail) | extra
        return page(request, "staff_case.html", user, session, status=status, case=detail,
                    days_left=_days_left(calendars, detail, now_utc()),
                    overdue=_overdue(detail, now_utc()) and not detail.get("answered_at"), errors=extra.pop("errors", {}), **extra)

    return api


def _days_left(calendars: Calendars, item: dict, now: datetime) -> int | None:
    """Working days to the deadline on the standard calendar (the inbox names no unit calendar)."""
    if not item.get("deadline_at"):
        return None
    return calendars.named(item.get("calendar")).working_days_between(now, parse_moment(item["deadline_at"]))


def _overdue(item: dict, now: datetime) -> bool:
    return bool(item.get("deadline_at")) and parse_moment(item["deadline_at"]) < now


_WRONG = ("نام کاربری یا گذرواژه درست نیست.", "The user name or password is not right.")
_MISSING = ("نام کاربری و گذرواژه را وارد کنید.", "Enter your user name and password.")
_SIGNED_OUT = ("از سامانه خارج شدید.", "You have signed out.")
_PURPOSE = ("هدف از دیدن اطلاعات هویتی را در ۱۰ تا ۵۰۰ حرف بنویسید؛ در گزارش ممیزی ثبت می‌شود.",
            "State why you need the personal data in 10 to 500 characters; it is written to the audit log.")
_BAD_CODE = ("کد رهگیری ۱۱ رقم است و شماره پرونده مانند ۱۴۰۵-۰۰۰۰۰۰۴۲؛ یکی از آن دو را بنویسید.",
             "A tracking code has 11 digits and a case number looks like 1405-00000042; type one of them.")


def _locked(lang: str) -> str:
    if lang == "fa":
        return (f"پس از {persian_digits(FAILURES_ALLOWED)} تلاش نادرست در {persian_digits(LOCKOUT_MINUTES)} دقیقه، ورود با این نام "
                f"کاربری بسته شده است؛ {persian_digits(LOCKOUT_MINUTES)} دقیقه دیگر دوباره تلاش کنید یا با مدیر سامانه تماس بگیرید.")
    return (f"After {FAILURES_ALLOWED} wrong attempts in {LOCKOUT_MINUTES} minutes, signing in with this user name is paused; "
            f"try again in {LOCKOUT_MINUTES} minutes or ask the administrator.")
