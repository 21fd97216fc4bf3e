"""What every service shares at run time: one FastAPI app with the Kafka broker, the outbox relay,
health endpoints, the AsyncAPI document, traces and JSON logs.

A service supplies its name, its migrations, its subscriptions and its HTTP routes:

    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations")
    runtime.add_subscription(Subscription(...))
    runtime.routers.append(router)
    app = runtime.app()
"""

import asyncio
import gc
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.config import STARTUP_FAILURE

from hub_shared import db
from hub_shared.admission import NEVER_SHED, AdmissionControl
from hub_shared.auth import AuthSettings
from hub_shared.httpspans import ServerSpans
from hub_shared.bus import BrokerIdentity, BusConnection
from hub_shared.consumer import Subscription, subscribe
from hub_shared.dbspans import trace_statements
from hub_shared.events import Event
from hub_shared.logs import setup_logging
from hub_shared.messaging import OutboxMessage, stage, stage_all
from hub_shared.metrics import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE
from hub_shared.metrics import ServiceMetrics
from hub_shared.reconcile import ReconcileReport, latest_report
from hub_shared.outbox import OutboxRelay
from hub_shared import ops_api
from hub_shared.settings import HubSettings
from hub_shared.telemetry import setup_tracing
from hub_shared.wakeup import CommitWatch

log = logging.getLogger(__name__)

# How often each broker client asks for its topics' metadata unasked. A consumer group that lost its topics (the
# embedded broker came back empty) sees the catalog's again within this once they are created, and rejoins.
METADATA_MAX_AGE_MS = 10_000


class _TopicsFromTheCatalog(logging.Filter):
    """FastStream warns at every subscriber's start that it creates no topics: here that is the rule, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Auto create topics is disabled")


BUS_LOG = logging.getLogger("hub.bus")
BUS_LOG.addFilter(_TopicsFromTheCatalog())


class Overloaded(Exception):
    """A request refused before it changed anything, to be answered 503 with Retry-After (`overloaded`)."""


class Runtime:
    """The wiring of one service process: settings, database, broker, relay."""

    def __init__(self, settings: HubSettings, migrations: Path, description: str = "", secret_settings: Sequence = ()) -> None:
        self.settings = settings
        self.migrations = migrations
        self.description = description
        self.source = f"/hub/{settings.service_name}"
        self.engine = db.make_engine(settings.effective_database_url)
        self.commits = CommitWatch()  # wakes the relay and the background jobs after commits that gave them work
        self.sessions = db.make_sessions(self.engine, self.commits.session_class)
        # for writes a client waits on: on SQLite a write lock held elsewhere is waited for at most the queue budget
        self.edge_engine = (db.make_engine(settings.effective_database_url, lock_wait_seconds=settings.http_queue_seconds)
                            if db.is_sqlite(settings.effective_database_url) else self.engine)
        self.edge_sessions = db.make_sessions(self.edge_engine, self.commits.session_class)
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=f"hub-{settings.service_name}",
            acks="all",
            linger_ms=5,
            enable_idempotence=settings.kafka_idempotent_producer,
            max_request_size=settings.max_message_bytes + 64_000,
            logger=BUS_LOG,  # propagates to the JSON handler, unlike FastStream's own
            log_level=logging.DEBUG,  # per-message "received/processed" lines only when debugging
            allow_auto_create_topics=False,  # topics come from the catalog (`hub_shared.bus.create_topics`) alone:
            metadata_max_age_ms=METADATA_MAX_AGE_MS,  # FastStream would make a subscriber's with 1 partition
        )
        self.relay = OutboxRelay(
            broker=self.broker,
            sessions=self.sessions,
            service=settings.service_name,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            identity=BrokerIdentity(settings.kafka_bootstrap_servers),
            bootstrap=settings.kafka_bootstrap_servers,
        )
        self.commits.on_commit(OutboxMessage.__tablename__, self.relay.notify, writes={"insert"})
        self.consumer_identity = BrokerIdentity(settings.kafka_bootstrap_servers)  # which broker the consumers read
        self.bus = BusConnection(self.broker, identity=self.consumer_identity)
        self.metrics = ServiceMetrics(settings.service_name)
        self.subscriptions: list[Subscription] = []
        self.routers: list[APIRouter] = []
        self.background: list[Callable[[], Awaitable[None]]] = []  # long-running jobs, cancelled at shutdown
        self.untraced_paths: list[str] = ["health/.*", "metrics"]  # regexes; e.g. anonymous endpoints leave no span
        self.body_limits: list[tuple[str, int]] = []  # (path regex, bytes): endpoints allowed more than max_request_bytes
        self.auth = AuthSettings()
        settings.refuse_development_secrets(self.auth, *secret_settings)

    def add_subscription(self, sub: Subscription) -> None:
        self.subscriptions.append(sub)
        subscribe(self.broker, self.settings, self.sessions, sub, self.consumer_identity)

    def publisher(self, topic: str, model: type[Event]) -> None:
        """Declare what this service publishes, for its AsyncAPI document."""
        self.broker.publisher(topic, schema=model, title=f"{self.settings.service_name}:{topic}:{model.event_type}")

    def stage(self, session: AsyncSession, event: Event) -> None:
        stage(session, event, self.source)

    async def stage_all(self, session: AsyncSession, staged: list[tuple[Event, dict[str, str]]]) -> None:
        """Many events in one statement, each with the trace context (`messaging.trace_context`) it was caused in."""
        await stage_all(session, staged, self.source)

    def committed(self) -> None:
        """Wake the relay now. Commits through `sessions` that stage events wake it on their own."""
        self.relay.notify()

    def wake_on_commit(self, table: str, callback: Callable[[], None]) -> None:
        """Call `callback` after each commit through `sessions` that writes `table` (a background job's alarm)."""
        self.commits.on_commit(table, callback)

    def migrate(self) -> None:
        db.migrate(self.settings.effective_database_url, self.migrations)

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(self.migrate)
        self.bus.start()  # in the background: HTTP serves from here on, with or without a broker
        self.relay.start()
        jobs = [asyncio.create_task(job(), name=getattr(job, "__name__", "background")) for job in self.background]
        log.info("%s serving on %s:%d; joining the bus", self.settings.service_name, self.settings.http_host, self.settings.http_port)
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            await self.relay.stop()
            await self.bus.stop()
            await self.consumer_identity.close()
            await self.engine.dispose()
            await self.edge_engine.dispose()

    def app(self) -> FastAPI:
        # FastAPI's own telemetry stays off: `ServerSpans` below makes the spans (and leaves out the untraced paths),
        # and the native layer walked the middleware stack on every request
        app = FastAPI(title=f"hub {self.settings.service_name}", description=self.description, version="0.1.0", lifespan=self.lifespan,
                      telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False})
        app.include_router(self._health_router())
        app.include_router(ops_api.router(self))  # dead letters, holds, parked outbox rows, lag: the ops console's
        for router in self.routers:
            app.include_router(router)
        app.add_exception_handler(RequestValidationError, _validation_error)
        app.add_exception_handler(StarletteHTTPException, _http_error)  # also the 400/404/405 Starlette raises
        app.add_exception_handler(Overloaded, self._refused_as_overloaded)
        app.add_middleware(BodyLimit, limits=self.body_limits, default=self.settings.max_request_bytes)
        app.add_middleware(ServerSpans, untraced=self.untraced_paths)
        # added last, so outermost: a refused request is not measured against the body limit, nor traced (under
        # overload a refusal must cost next to nothing; hub_http_shed_requests_total counts them by reason)
        app.add_middleware(AdmissionControl, settings=self.settings, metrics=self.metrics,
                           refusal=_overloaded(self.settings.http_retry_after_seconds))
        app.openapi = _declaring_edge_answers(app)
        for engine in {self.engine, self.edge_engine}:
            trace_statements(engine.sync_engine)
        return app

    async def _refused_as_overloaded(self, _request: Request, _exc: Overloaded) -> JSONResponse:
        self.metrics.http_shed["write_wait"].inc()
        retry_after = self.settings.http_retry_after_seconds
        return JSONResponse(status_code=503, content=_overloaded(retry_after), headers={"Retry-After": str(retry_after)})

    def _health_router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/health/live")
        async def live() -> dict:
            return {"status": "live", "service": self.settings.service_name}

        @router.get("/health/ready", responses={503: {"description": "Not ready; the body names the failed check"}})
        async def ready() -> JSONResponse:
            """Everything works: the database, the bus (connected, every consumer group joined) and the relay."""
            checks = await self._checks()
            return await self._readiness(checks, required=checks)

        @router.get("/health/serving", responses={503: {"description": "Cannot serve HTTP; the body names the failed check"}})
        async def serving() -> JSONResponse:
            """The HTTP API can do its work (its database answers), even while the bus is away: changes wait in
            the outbox. Load balancers route by this one, so a broker outage does not take the API down."""
            checks = await self._checks()
            return await self._readiness(checks, required={"database": checks["database"]})

        @router.get("/metrics", response_class=PlainTextResponse,
                    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
        async def metrics() -> Response:
            """The bus, the outbox and the last reconcile as Prometheus gauges."""
            return await self._metrics()

        @router.get("/asyncapi.json")
        async def asyncapi() -> JSONResponse:
            spec = AsyncAPI(self.broker, title=f"hub {self.settings.service_name}", version="0.1.0", description=self.description)
            return JSONResponse(content=spec.to_specification().to_jsonable())

        return router

    async def checks(self) -> dict[str, str]:
        """Each readiness check by name: `ok`, or what failed (the ops endpoints show them)."""
        return await self._checks()

    async def _checks(self) -> dict[str, str]:
        return {"database": await _check(db.ping(self.engine)), "bus": await self.bus.state(),
                "outbox_relay": "ok" if self.relay.running else "failed: the relay task stopped"}

    async def _readiness(self, checks: dict[str, str], required: dict[str, str]) -> JSONResponse:
        ok = all(value == "ok" for value in required.values())
        parked, report = (await self._parked_rows(), await self._last_reconcile()) if checks["database"] == "ok" else (None, None)
        return JSONResponse(status_code=200 if ok else 503, content={
            "status": "ready" if ok else "not ready", "checks": checks,
            "outbox": {"parked": parked, "republished_to_new_broker": self.relay.republished},
            "reconcile": None if report is None else {
                "ran_at": report.ran_at.isoformat(), "facts_checked": report.facts_checked, "drifted_cases": report.drifted_cases,
                "repaired": report.repaired, "needs_rebuild": report.needs_rebuild}})

    async def _last_reconcile(self) -> ReconcileReport | None:
        """The last `hub reconcile` outcome stored here: drift is worth an alert, not a reason to be unready."""
        try:
            async with self.sessions() as session:
                return await asyncio.wait_for(latest_report(session), timeout=3)
        except Exception:
            return None

    async def _metrics(self) -> Response:
        metrics = self.metrics
        checks = await self._checks()
        metrics.bus_up.set(1 if checks["bus"] == "ok" else 0)
        metrics.republished.set(self.relay.republished)
        if checks["database"] == "ok":
            metrics.outbox_pending.set(await self.relay.pending_count())
            metrics.outbox_parked.set(await self.relay.parked_count())
            report = await self._last_reconcile()
            if report is not None:
                metrics.reconcile_time.set(report.ran_at.timestamp())
                metrics.reconcile_drifted.set(report.drifted_cases)
                metrics.reconcile_repaired.set(report.repaired)
                metrics.reconcile_rebuild.set(report.needs_rebuild)
        return Response(content=metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def _parked_rows(self) -> int | None:
        """Outbox rows the broker refused for good (`hub outbox parked`): worth an alert, not a reason to be unready."""
        try:
            return await asyncio.wait_for(self.relay.parked_count(), timeout=3)
        except Exception:
            return None



async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, timeout=3)
        return "ok"
    except Exception as exc:
        return f"failed: {type(exc).__name__}: {exc}"


class BodyLimit:
    """Pure ASGI: a request whose declared body is larger than its path allows is answered 413 unread. (Starlette's
    `BaseHTTPMiddleware`, which this replaces, ran every request through an extra task and a body stream: a
    sampling profile of intake under load put it at about a seventh of the event loop's time.)"""

    def __init__(self, app: Any, limits: list[tuple[str, int]], default: int) -> None:
        self.app, self._limits, self._default = app, limits, default

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            length = next((value for name, value in scope["headers"] if name == b"content-length"), None)
            if length is not None:
                limit = next((size for pattern, size in self._limits if re.fullmatch(pattern, scope["path"])), self._default)
                if not length.isdigit() or int(length) > limit:
                    response = JSONResponse(status_code=413, content=problem(
                        "request_too_large", f"درخواست بزرگ‌تر از {limit} بایت است.", f"The request body is larger than {limit} bytes."))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


UNPARSEABLE_BODY: dict[int | str, dict] = {400: {"description": "The body cannot be parsed (not UTF-8, or nested too deeply)"}}
OVERLOADED = {"description": "Overloaded: the request was not served and changed nothing; send it again after Retry-After",
              "headers": {"Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "integer"}}}}


def _declaring_edge_answers(app: FastAPI) -> Callable[[], dict]:
    """`app.openapi`, with what the edge answers before a route runs declared where the route did not: the 400
    of every operation that takes a body, and admission control's 503 on every path it may refuse."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    if not isinstance(operation, dict):
                        continue
                    responses = operation.setdefault("responses", {})
                    if "requestBody" in operation:
                        responses.setdefault("400", {"description": UNPARSEABLE_BODY[400]["description"]})
                    if not NEVER_SHED.fullmatch(path):
                        responses.setdefault("503", OVERLOADED)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def problem(code: str, message_fa: str, message_en: str, **extra: Any) -> dict:
    """The error body every endpoint returns: a machine code and a Persian and English reason."""
    return {"error": {"code": code, "message_fa": message_fa, "message_en": message_en, **extra}}


def _overloaded(retry_after: int) -> dict:
    """Admission control's refusal: the request did nothing, so sending it again cannot file anything twice."""
    return problem(
        "overloaded",
        f"سامانه در این لحظه بیش از ظرفیت خود درخواست دارد و درخواست شما پذیرفته نشد؛ لطفاً {retry_after} ثانیه دیگر دوباره تلاش کنید.",
        f"The service is busy and did not take your request; please try again in {retry_after} seconds.")


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    """Errors raised with a coded detail (e.g. by hub_shared.auth) keep the project's error body."""
    if isinstance(exc.detail, dict) and "code" in exc.detail:
        return JSONResponse(status_code=exc.status_code, content={"error": exc.detail}, headers=exc.headers)
    return JSONResponse(status_code=exc.status_code, headers=exc.headers, content=problem(
        "http_error", "درخواست قابل انجام نیست.", str(exc.detail)))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [
        {"field": ".".join(str(part) for part in error["loc"][1:]) or "body", "problem": error["msg"]}
        for error in exc.errors()
    ]
    return JSONResponse(status_code=422, content=problem(
        "invalid_request",
        "درخواست نامعتبر است؛ فیلدهای مشخص‌شده را اصلاح کنید.",
        "The request is invalid; correct the fields listed.",
        fields=fields,
    ))


def main(service_name: str, create_runtime: Callable[[HubSettings], "Runtime"]) -> None:
    """`python -m hub_<service>` serves; `python -m hub_<service> migrate` only migrates."""
    try:
        settings = HubSettings(service_name=service_name)
    except ValueError as exc:
        raise SystemExit(f"invalid settings for {service_name}:\n{exc}") from None
    setup_logging(settings.service_name, settings.log_level)
    if sys.argv[1:] == ["migrate"]:
        create_runtime(settings).migrate()
        return
    if sys.argv[1:]:
        raise SystemExit(f"unknown arguments {sys.argv[1:]}; use no argument to serve or 'migrate'")
    setup_tracing(settings)
    app = create_runtime(settings).app()
    server = QuietServer(uvicorn.Config(app, host=settings.http_host, port=settings.http_port, loop="uvloop", http="httptools",
                                        log_config=None, access_log=False))
    server.run()
    if not server.started:  # what `uvicorn.run` does: a failed start (the lifespan raised) is not a clean exit
        sys.exit(STARTUP_FAILURE)


YOUNG_COLLECTION_EVERY = 20_000


def settle_heap() -> None:
    """Once the service has started: what it loaded to start (modules, the ORM's mappings, schemas, the org tree) is
    moved out of the garbage collector's sight (`gc.freeze`), and young objects are collected every 20,000 allocations
    rather than 700, so a request's objects are mostly freed by their reference counts before a collection looks
    at them. Without this a service spent 12-18 % of its CPU in collections under load, walking the same objects."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


class QuietServer(uvicorn.Server):
    """uvicorn's server, looking once a second rather than ten times whether it should stop. Its Date header
    still changes every second; a SIGTERM takes effect within a second."""

    async def main_loop(self) -> None:
        settle_heap()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # uvicorn counts tenths of a second and refreshes its headers every ten
            await asyncio.sleep(1.0)
            should_exit = await self.on_tick(counter)
