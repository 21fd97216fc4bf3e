"""Each service's OpenAPI document is a contract. Schemathesis generates requests from it, valid and
invalid (NUL and control characters, huge numbers, non-UTF-8 bodies, wrong types), and every answer
must be a declared status code with the declared content type and body schema, never a 5xx, and
schema-invalid input must be refused with a 4xx.

The apps run in-process on a temporary SQLite database without a broker: `without_lifespan` answers
the ASGI lifespan itself, so `Runtime.lifespan` (migrations, Kafka broker, outbox relay) never runs;
the database is migrated before the run instead. Bootstrap servers point at a closed port, so a
lifespan that did run would fail the load of the schema instead of passing silently.
"""

import asyncio
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub_shared.auth import AuthSettings, Role, mint
from hub_shared.events import CaseRegistered, CaseRouted, RoutingDecision, Target
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.testing import deliver

SERVICES = {
    "intake": "hub_intake.app",
    "routing": "hub_routing.app",
    "followup": "hub_followup.app",
    "reporting": "hub_reporting.app",
    "samad-gateway": "hub_gateway.app",
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
# Bounded and repeatable: at most 50 generated cases per operation and phase, the same ones every run.
CONFIG = schemathesis.Config.from_dict({
    "seed": 20251124,
    "generation": {"mode": "all", "max-examples": 50, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})
# Staff endpoints answer 401 to everything without a token; a national supervisor reaches their logic.
STAFF_TOKEN = mint(AuthSettings(), "contract-test", Role.national_supervisor, "national")
# Without a broker, "not ready" is the right answer of the readiness probe.
NOT_READY = {"GET /health/ready": "bus", "GET /health/serving": "database"}  # may answer 503 here, the check named failing


def without_lifespan(app: Callable) -> Callable:
    """`app` with its lifespan answered here, so no broker starts; requests still reach the routes."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        wrapped.loop = asyncio.get_running_loop()
        await app(scope, receive, send)

    wrapped.loop = None
    return wrapped


def build(service: str, data_dir: Path) -> Runtime:
    settings = HubSettings(
        service_name=service, data_dir=data_dir, database_url="",
        kafka_bootstrap_servers="127.0.0.1:9",  # nothing listens there
        public_requests_per_minute=10**9, lookup_misses_allowed=10**9,  # the run is one address asking fast
    )
    runtime = import_module(SERVICES[service]).create_runtime(settings)
    runtime.migrate()
    return runtime


def close(runtime: Runtime, app: Callable) -> None:
    if app.loop is not None:  # the engine's connections belong to the loop that served the requests
        asyncio.run_coroutine_threadsafe(runtime.engine.dispose(), app.loop).result(10)
    assert not runtime.relay.running, "the lifespan ran"


@pytest.fixture(params=list(SERVICES))
def api(request, tmp_path: Path) -> Iterator[schemathesis.BaseSchema]:
    runtime = build(request.param, tmp_path)
    app = without_lifespan(runtime.app())
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    close(runtime, app)


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
def test_every_operation_keeps_its_contract(case) -> None:
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    if case.operation.label not in NOT_READY:
        case.call_and_validate(headers=headers, checks=CHECKS)
        return
    response = case.call(headers=headers)
    checks = list(CHECKS)
    if response.status_code == 503:
        assert response.json()["checks"][NOT_READY[case.operation.label]] != "ok", response.text
        checks.remove(not_a_server_error)
        if "503" not in case.operation.definition.raw["responses"]:
            warnings.warn(f"{case.operation.label} answers 503 when not ready, but its OpenAPI document does not declare "
                          "it (hub_shared.service: responses={503: ...} on the route)", stacklevel=1)
            checks.remove(status_code_conformance)
    case.validate_response(response, checks=checks, headers=headers, transport_kwargs={"headers": headers})


VALID = {
    "kind": "complaint", "full_name": "علی رضایی", "national_id": "2914177763", "phone": "09121234567",
    "address": "اصفهان، خیابان چهارباغ، کوچه ۵", "subject": "عدم پاسخگویی اداره",
    "description": "سه بار به اداره مراجعه کرده‌ام و پاسخی دریافت نکرده‌ام.",
    "target": {"agency": "labour", "province": "isfahan", "county": "kashan"},
}


@pytest.mark.parametrize("service", ["intake", "reporting", "followup"])
async def test_success_answers_match_their_declared_schema(service, tmp_path: Path) -> None:
    """Generated input rarely passes the domain rules (a national ID's checksum, a known tracking code),
    so the success answers are checked against their schemas with data that reaches them."""
    runtime = build(service, tmp_path)
    case_id, code = uuid.uuid4(), "55555555550"
    routed = CaseRouted(case_id=case_id, tracking_code=code, unit_id="labour/isfahan/performance-office",
                        unit_name="اداره کار اصفهان", decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                        deadline_at=datetime(2027, 1, 9, tzinfo=UTC), deadline_jalali="1405/10/19", routed_at=datetime.now(UTC))
    registered = CaseRegistered(case_id=case_id, tracking_code=code, case_number="1405-00000007", kind="complaint",
                                channel="web", target=Target(agency="labour", province="isfahan"), registered_at=datetime.now(UTC))
    await deliver(runtime, registered, routed)
    await runtime.engine.dispose()  # the requests below are served on schemathesis's own loop
    app = without_lifespan(runtime.app())
    try:
        api = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
        case, expected = {
            "intake": lambda: (api["/api/v1/cases"]["POST"].Case(body=VALID), 201),
            "reporting": lambda: (api["/api/v1/status/{tracking_code}"]["GET"].Case(path_parameters={"tracking_code": code}), 200),
            "followup": lambda: (api["/api/v1/cases/{case_id}/timers"]["GET"].Case(path_parameters={"case_id": str(case_id)}), 200),
        }[service]()
        headers = {} if service == "intake" else {"Authorization": f"Bearer {STAFF_TOKEN}"}  # a citizen files on the web
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        assert response.status_code == expected and response.json(), response.text
    finally:
        close(runtime, app)


# What the run found, pinned with readable examples.

@pytest.fixture
async def intake(tmp_path: Path):
    runtime = build("intake", tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://intake") as client:
        yield client
    await runtime.engine.dispose()


@pytest.mark.parametrize("field", ["full_name", "address", "subject", "description"])
@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x9b"])
async def test_control_characters_in_text_are_refused(intake, field, char) -> None:
    """PostgreSQL refuses NUL in text (a 500 there); other control characters have no place in a case."""
    response = await intake.post("/api/v1/cases", json={**VALID, field: VALID[field][:3] + char + VALID[field][3:]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and [f["field"] for f in error["fields"]] == [field]


async def test_line_breaks_and_zero_width_non_joiner_are_kept_as_text(intake) -> None:
    response = await intake.post("/api/v1/cases", json={**VALID, "description": "خط اول\r\n\tخط دوم، می‌خواهم پیگیری شود."})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("field,value", [("national_id", "२९१४१७७७६३"), ("phone", "०९१२१२३४५६७")])
async def test_digits_of_other_scripts_are_not_taken_for_ascii(intake, field, value) -> None:
    """Persian and Arabic digits are normalised; Devanagari ones would be stored as typed and miss every lookup."""
    response = await intake.post("/api/v1/cases", json={**VALID, field: value})
    assert response.status_code == 422 and response.json()["error"]["code"] == f"invalid_{field}"


@pytest.mark.parametrize("body", ['{"kind": "réclamation"}'.encode("latin-1"), b"[" * 100_000 + b"]" * 100_000])
async def test_unparseable_bodies_get_a_declared_400_in_the_error_body(intake, body) -> None:
    """Not UTF-8, or nested past the parser's recursion limit: FastAPI answers 400, no longer undeclared
    and no longer Starlette's bare {"detail": ...}."""
    response = await intake.post("/api/v1/cases", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "http_error"


async def test_unknown_routes_and_methods_answer_in_the_error_body(intake) -> None:
    for response in (await intake.get("/api/v1/nowhere"), await intake.delete("/api/v1/cases")):
        assert response.status_code in (404, 405) and response.json()["error"]["code"] == "http_error"
