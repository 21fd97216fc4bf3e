"""Staff sign-in at the identity provider (`hub_web.oidc`): /staff/oidc/start sends the browser there with a
fresh attempt, /staff/oidc/callback finishes it. The provider's answer arrives as a navigation from its own site,
so the page that follows is reached by a refresh from this one, not by a redirect: the staff cookie is SameSite=
Strict, and a browser does not send it on a redirect that another site started."""

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hub_web.i18n import language
from hub_web.oidc import ATTEMPT_SECONDS, COOKIE, ProviderUnavailable, SignInRefused
from hub_web.pages.account import keep_session
from hub_web.portal import Portal
from hub_web.staff_auth import FAILURES_ALLOWED, LOCKOUT_MINUTES

log = logging.getLogger(__name__)


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff/oidc")
    oidc, desk = portal.oidc, portal.staff

    def redirect_uri(request: Request) -> str:
        return portal.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))

    def refused(request: Request, status: int, message: tuple[str, str]) -> Response:
        response = portal.render(request, "staff_sign_in.html", status=status, values={}, failures=FAILURES_ALLOWED, sso=True,
                                 lockout_minutes=LOCKOUT_MINUTES, idle_minutes=portal.settings.staff_idle_minutes,
                                 errors={"form": message[language(request) == "en"]})
        response.delete_cookie(COOKIE, path="/staff/oidc")
        return response

    @api.get("/start")
    async def start(request: Request):
        if not oidc.enabled:
            raise HTTPException(404)
        attempt = oidc.begin()
        try:
            location = await oidc.authorization_url(attempt, redirect_uri(request))
        except ProviderUnavailable as error:
            log.warning("the identity provider is unavailable: %s", error)
            return refused(request, 503, _UNAVAILABLE)
        response = RedirectResponse(location, status_code=303)
        response.set_cookie(COOKIE, oidc.seal(attempt), httponly=True, samesite="lax", path="/staff/oidc",
                            secure=portal.settings.secure_cookies, max_age=ATTEMPT_SECONDS)
        return response

    @api.get("/callback", name="oidc_callback")
    async def callback(request: Request, code: str = "", state: str = "", error: str = ""):
        if not oidc.enabled:
            raise HTTPException(404)
        attempt = oidc.open(request.cookies.get(COOKIE))
        if error or not code:
            log.info("the identity provider signed no one in: %s", error[:64] or "no code")
            return refused(request, 401, _NOT_SIGNED_IN)
        if attempt is None:
            return refused(request, 400, _EXPIRED)
        try:
            principal = await oidc.finish(attempt, state, code, redirect_uri(request))
        except ProviderUnavailable as failure:
            log.warning("the identity provider is unavailable: %s", failure)
            return refused(request, 503, _UNAVAILABLE)
        except SignInRefused as refusal:
            log.warning("sign-in through the identity provider refused: %s", refusal.reason)
            return refused(request, 401, _REFUSED)
        session = desk.sso_session(principal.subject, principal.role, principal.unit, principal.scopes)
        response = portal.render(request, "staff_signed_in.html", staff=None)
        keep_session(response, desk, portal.settings.secure_cookies, session)
        response.delete_cookie(COOKIE, path="/staff/oidc")
        return response

    return api


_UNAVAILABLE = ("سامانه هویت سازمانی اکنون پاسخ نمی‌دهد؛ چند دقیقه دیگر دوباره تلاش کنید یا با نام کاربری و گذرواژه وارد شوید.",
                "The organisation's identity provider is not answering; try again in a few minutes, or sign in with a user name and password.")
_NOT_SIGNED_IN = ("ورود در سامانه هویت سازمانی انجام نشد؛ دوباره تلاش کنید.",
                  "Signing in at the organisation's identity provider did not complete; try again.")
_EXPIRED = ("زمان این تلاش ورود گذشته است یا از مرورگر دیگری آغاز شده؛ دوباره «ورود با حساب سازمانی» را بزنید.",
            "This sign-in attempt has expired or began in another browser; choose “Sign in with your organisation account” again.")
_REFUSED = ("سامانه هویت سازمانی شما را شناخت، اما نقش یا واحد شما در این سامانه تعریف نشده یا پاسخ آن معتبر نبود؛ با مدیر سامانه تماس بگیرید.",
            "The identity provider knew you, but your role or unit is not set for this hub, or its answer was not valid; ask the administrator.")
