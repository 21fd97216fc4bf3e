"""Portal wiring: settings, the services' client, the pages, the static files (the font is fetched from the
npm registry at install time, `hub_web.assets`), the security headers, the traces (`hub_web.tracing`). No database,
no broker."""

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from opentelemetry.trace import TracerProvider
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub_shared.calendar import load_calendars
from hub_shared.logs import setup_logging
from hub_shared.service import QuietServer
from hub_shared.settings import HubSettings
from hub_shared.telemetry import setup_tracing
from hub_web.assets import missing_assets
from hub_shared.tokens import AuthSettings
from hub_web.pages import account, casework, centre, dashboards, filing, following, home, open_data, ops, rating, reports, sso, staff
from hub_web.portal import Portal
from hub_web.security import security_headers
from hub_web.settings import WebSettings
from hub_web.tracing import PortalTracing

STATIC = Path(__file__).with_name("static")
SERVED_ASSETS = {"vazirmatn"}  # axe-core is for the browser tests only


def create_app(hub: HubSettings, settings: WebSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The portal; its spans go to `tracer_provider` (by default the process's, which `main` sets up as every
    service's: OTLP or `var/traces/web.jsonl`)."""
    auth = AuthSettings()  # the staff pages mint their users' tokens with the services' signing key
    hub.refuse_development_secrets(settings, auth)
    portal = Portal(hub, settings, tracer_provider, auth)
    calendars = load_calendars(hub)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await portal.upstream.close()
        await portal.oidc.close()

    # FastAPI's own telemetry stays off, as in the services: PortalTracing makes the spans, from requests that name no visitor
    app = FastAPI(title="hub web", version="0.1.0", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (home, filing, rating, open_data):
        app.include_router(module.router(portal))
    app.include_router(following.router(portal, calendars))  # the holding unit's calendar counts the days left
    app.include_router(staff.router(portal, calendars, casework.case_extras(portal)))
    app.include_router(casework.router(portal))
    for module in (dashboards, reports, centre):  # the managers' dashboards and the supervision view
        app.include_router(module.router(portal))
    app.include_router(account.router(portal))
    app.include_router(sso.router(portal))
    app.include_router(ops.router(portal))  # the ops console, under /staff/ops
    app.middleware("http")(security_headers)
    app.add_middleware(PortalTracing, tracer_provider=tracer_provider)  # added last: its span covers the other middleware
    app.add_exception_handler(StarletteHTTPException, _page_error(portal))
    app.add_exception_handler(RequestValidationError, _page_error(portal))
    return app


def _page_error(portal: Portal):
    async def page(request: Request, exc: Exception):
        status = getattr(exc, "status_code", 400)
        return portal.render(request, "problem.html", status=status, problem="not_found" if status == 404 else "refused")

    return page


def main() -> None:
    try:
        hub, settings = HubSettings(service_name="web"), WebSettings()
    except ValueError as exc:
        raise SystemExit(f"invalid settings for web:\n{exc}") from None
    if missing := missing_assets(SERVED_ASSETS):
        raise SystemExit(f"web: {', '.join(missing)} missing; run ./hub (it fetches them from the npm registry) "
                         "or python -m hub_web.assets")
    setup_logging("web", hub.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per call would date each visit's rating
    provider = setup_tracing(hub)
    server = QuietServer(uvicorn.Config(create_app(hub, settings, provider), host=hub.http_host, port=hub.http_port, loop="uvloop",
                                        http="httptools", log_config=None, access_log=False))
    server.run()
    if not server.started:
        sys.exit(3)
