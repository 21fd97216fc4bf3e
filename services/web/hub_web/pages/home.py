"""The start page, the language switch and the health endpoints."""

import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse

from hub_web.i18n import COOKIE, LANGUAGES
from hub_web.portal import Portal

SAFE_NEXT = re.compile(r"^/[a-z0-9/_.-]*$")


def router(portal: Portal) -> APIRouter:
    api = APIRouter()

    @api.get("/")
    async def home(request: Request):
        return portal.render(request, "home.html")

    @api.get("/lang/{code}")
    async def switch_language(code: str, next: str = "/"):
        target = next if SAFE_NEXT.fullmatch(next) and not next.startswith("//") else "/"
        response = RedirectResponse(target, status_code=303)
        if code in LANGUAGES:
            response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", secure=portal.settings.secure_cookies)
        return response

    @api.get("/health/live")
    async def live() -> dict:
        return {"status": "live", "service": "web"}

    @api.get("/health/serving")
    async def serving() -> JSONResponse:
        """The portal can file and follow cases: intake answers."""
        return _health({"intake": await portal.upstream.serving(portal.upstream.intake)})

    @api.get("/health/ready")
    async def ready() -> JSONResponse:
        """Every page works: intake, routing and reporting (the open data) answer."""
        return _health({"intake": await portal.upstream.serving(portal.upstream.intake),
                        "routing": await portal.upstream.serving(portal.upstream.routing),
                        "reporting": await portal.upstream.serving(portal.upstream.reporting)})

    return api


def _health(checks: dict[str, str]) -> JSONResponse:
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(status_code=200 if ok else 503, content={"status": "ready" if ok else "not ready", "checks": checks})
