"""What every page needs: the templates, the language, the anti-forgery guard, the services' client and the
per-address limits (the same as the services' public endpoints)."""

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from opentelemetry.trace import TracerProvider

from hub_shared.ratelimit import RateLimiter, client_ip
from hub_shared.settings import HubSettings
from hub_shared.tokens import AuthSettings
from hub_web import persian
from hub_web.forms import FieldErrors
from hub_web.i18n import ASPECTS, KINDS, OUTCOMES_EN, STATUSES_EN, language, pick
from hub_web.oidc import OidcClient
from hub_web.security import FormGuard
from hub_web.settings import WebSettings
from hub_web.staff_auth import SessionCookie, StaffDesk
from hub_web.upstream import Upstream

TEMPLATES = Path(__file__).with_name("templates")


class Portal:
    def __init__(self, hub: HubSettings, settings: WebSettings, tracer_provider: TracerProvider | None = None,
                 auth: AuthSettings | None = None) -> None:
        self.settings = settings
        self.guard = FormGuard(settings.form_key.get_secret_value(), settings.secure_cookies)
        self.upstream = Upstream(settings, tracer_provider)
        self.posts = RateLimiter.allowing(hub.public_requests_per_minute, minutes=1)
        self.staff = StaffDesk(settings.users_file or hub.data_dir / "users.json",
                               SessionCookie(settings.form_key.get_secret_value(), settings.staff_idle_minutes, settings.staff_session_hours),
                               auth or AuthSettings())
        self.oidc = OidcClient(settings, self.staff.auth, settings.form_key.get_secret_value())
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    def render(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        token = self.guard.token_for(request)
        response = HTMLResponse(self.html(request, template, form_token=token, **context), status_code=status)
        self.guard.attach(response, token)
        return response

    def html(self, request: Request, template: str, **context) -> str:
        """`template` rendered for this request's language (a page, or a part of one sent on its own)."""
        lang = language(request)
        return self.templates.get_template(template).render(
            request=request, lang=lang, t=lambda fa, en: fa if lang == "fa" else en,
            digits=lambda value: persian.digits_for(lang, value), when=lambda value: persian.jalali_datetime(value, lang),
            day=lambda value: persian.jalali_date(value, lang), kinds={k: pick(v, lang) for k, v in KINDS.items()},
            aspects={k: pick(v, lang) for k, v in ASPECTS.items()}, statuses_en=STATUSES_EN, outcomes_en=OUTCOMES_EN,
            path=request.url.path, **context)

    async def intake(self, request: Request, path: str, body: dict):
        """POST `body` to intake on behalf of the citizen who sent `request`."""
        return await self.upstream.post_intake(path, body, client_ip(request))

    def errors(self, request: Request) -> FieldErrors:
        return FieldErrors(language(request))

    def refused_form(self, request: Request) -> HTMLResponse | None:
        """The answer to a POST that may not act (a forged or stale form, too many from this address), else None."""
        if not self.posts.allow(client_ip(request)):
            return self.render(request, "problem.html", status=429, problem="busy")
        return None

    async def forged(self, request: Request, form) -> HTMLResponse | None:
        if not self.guard.accepts(request, form.get(FormGuard.FIELD)):
            return self.render(request, "problem.html", status=403, problem="stale_form")
        return self.refused_form(request)
