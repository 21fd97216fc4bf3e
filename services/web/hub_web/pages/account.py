"""The staff member's own account: changing the password of a local account. The current password is asked
again (a session left open in someone else's hands does not suffice), the new one twice and against a strength
rule; it is stored as a fresh Argon2id hash, which ends every other session of the user at once (their cookies
carry the old hash's fingerprint), and this browser gets a new session. Accounts of the identity provider change
their password there."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub_shared.passwords import MAX_LENGTH, MIN_LENGTH
from hub_web.i18n import language
from hub_web.persian import persian_digits
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, SSO_EPOCH, Session, StaffDesk

PASSWORD_PAGE = "/staff/account/password"
MIN_DISTINCT = 5  # "aaaaaaaaaa" and "1212121212" are long enough and still guessed at once


def keep_session(response: Response, desk: StaffDesk, secure: bool, session: Session) -> None:
    """The staff session cookie, as every staff page sets it (`hub_web.pages.staff`)."""
    response.set_cookie(COOKIE, desk.cookie.seal(session), httponly=True, samesite="strict", path="/staff",
                        secure=secure, max_age=desk.cookie.longest)


def weaknesses(new: str, again: str, current: str, subject: str, lang: str) -> dict[str, str]:
    """What is wrong with the new password, by field, in the reader's language; empty when it will do."""
    en = lang == "en"
    if not new:
        return {"new_password": _NEW_MISSING[en]}
    if not MIN_LENGTH <= len(new) <= MAX_LENGTH:
        return {"new_password": _length(lang)}
    if len(set(new)) < MIN_DISTINCT:
        return {"new_password": _SIMPLE[en]}
    if subject.lower() in new.lower():
        return {"new_password": _HAS_NAME[en]}
    if new == current:
        return {"new_password": _SAME[en]}
    if again != new:
        return {"again": _MISMATCH[en]}
    return {}


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff/account")
    desk = portal.staff

    def form_page(request: Request, user, session: Session, status: int = 200, **context) -> Response:
        response = portal.render(request, "staff_password.html", status=status, staff=user, min_length=MIN_LENGTH,
                                 sso=session.epoch == SSO_EPOCH, errors=context.pop("errors", {}), **context)
        keep_session(response, desk, portal.settings.secure_cookies, session)
        return response

    @api.get("/password")
    async def password_form(request: Request):
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return RedirectResponse("/staff/sign-in", status_code=303)
        return form_page(request, *who)

    @api.post("/password")
    async def change_password(request: Request):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return RedirectResponse("/staff/sign-in", status_code=303)
        user, session = who
        if session.epoch == SSO_EPOCH:
            return form_page(request, user, session, status=409)
        lang = language(request)
        current, new, again = (str(form.get(name) or "") for name in ("current_password", "new_password", "again"))
        errors = {"current_password": _CURRENT_MISSING[lang == "en"]} if not current else {}
        errors |= weaknesses(new, again, current, user.subject, lang)
        if errors:
            return form_page(request, user, session, status=422, errors=errors)
        outcome = await _change(desk, user, current, new)
        if not isinstance(outcome, Session):
            status, errors = _REFUSALS[outcome]
            return form_page(request, user, session, status=status, errors={name: pair[lang == "en"] for name, pair in errors.items()})
        return form_page(request, user, outcome, notice=_CHANGED[lang == "en"])

    return api


async def _change(desk: StaffDesk, user, current: str, new: str) -> Session | str:
    """Argon2 twice: a worker thread's time, not the event loop's."""
    return await run_in_threadpool(desk.change_password, user, current, new)


def _length(lang: str) -> str:
    if lang == "fa":
        return f"گذرواژه تازه باید {persian_digits(MIN_LENGTH)} تا {persian_digits(MAX_LENGTH)} نویسه باشد."
    return f"The new password must have {MIN_LENGTH} to {MAX_LENGTH} characters."


_CURRENT_MISSING = ("گذرواژه کنونی را وارد کنید.", "Enter your current password.")
_NEW_MISSING = ("گذرواژه تازه را وارد کنید.", "Enter a new password.")
_SIMPLE = ("گذرواژه تازه بیش از اندازه ساده است؛ دست‌کم ۵ نویسه گوناگون به کار ببرید، مثلاً چند واژه با هم.",
           "The new password is too simple; use at least 5 different characters, for example a few words together.")
_HAS_NAME = ("گذرواژه تازه نباید نام کاربری شما را در خود داشته باشد.", "The new password must not contain your user name.")
_SAME = ("گذرواژه تازه باید با گذرواژه کنونی فرق داشته باشد.", "The new password must differ from the current one.")
_MISMATCH = ("تکرار گذرواژه تازه با خود آن یکی نیست؛ دوباره بنویسید.", "The repeated new password does not match; type it again.")
_CHANGED = ("گذرواژه شما تغییر کرد. ورود شما در مرورگرها و دستگاه‌های دیگر پایان یافت.",
            "Your password has been changed. You have been signed out in every other browser and device.")
_REFUSALS = {
    "wrong": (401, {"current_password": ("گذرواژه کنونی درست نیست.", "The current password is not right.")}),
    "locked": (429, {"form": ("پس از چند تلاش نادرست، این کار ۱۵ دقیقه بسته شده است؛ بعداً دوباره تلاش کنید.",
                              "After several wrong attempts this is paused for 15 minutes; try again later.")}),
    "changed": (409, {"form": ("گذرواژه در همین میان جای دیگری تغییر کرد؛ دوباره وارد شوید و تلاش کنید.",
                               "The password was changed elsewhere meanwhile; sign in again and retry.")}),
}
