"""The services the portal asks, over their HTTP APIs. The portal keeps no case data: every page is built
from one of these answers.

Each call made while serving a traced page is a client span whose `traceparent` the service continues, so a filing's
trace runs from the portal through intake and on over the bus (`hub_web.tracing`). The span names the service, the
method and the path's template, never a body or a query: a citizen's personal data travels only in bodies."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from hub_web.settings import WebSettings

log = logging.getLogger(__name__)
PLACES_SECONDS = 300  # the agencies and places change seldom; a new agency shows within five minutes


class Unavailable(Exception):
    """A service did not answer; the page says to try again shortly."""


@dataclass
class Answer:
    status: int
    body: dict


class Upstream:
    def __init__(self, settings: WebSettings, tracer_provider: trace.TracerProvider | None = None) -> None:
        timeout = httpx.Timeout(settings.upstream_timeout_seconds)
        self.intake = httpx.AsyncClient(base_url=settings.intake_url, timeout=timeout)
        self.routing = httpx.AsyncClient(base_url=settings.routing_url, timeout=timeout)
        self.reporting = httpx.AsyncClient(base_url=settings.reporting_url, timeout=timeout)
        self.followup = httpx.AsyncClient(base_url=settings.followup_url, timeout=timeout)
        self.gateway = httpx.AsyncClient(base_url=settings.gateway_url, timeout=timeout)
        self._tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
        self._places: tuple[float, dict] | None = None
        self._policy: dict | None = None
        self._unit_names: dict[str, dict] = {}

    async def close(self) -> None:
        await self.intake.aclose()
        await self.routing.aclose()
        await self.reporting.aclose()
        await self.followup.aclose()
        await self.gateway.aclose()

    async def post_intake(self, path: str, body: dict, citizen_address: str) -> Answer:
        """A citizen's request to intake, naming the citizen's address so intake's per-address limits count the
        citizen, not the portal (intake trusts the header only from the addresses in HUB_INTAKE_TRUSTED_PROXIES)."""
        return await self._call(self.intake, "POST", path, body, headers={"X-Forwarded-For": citizen_address})

    async def open_data(self, query: dict[str, str], citizen_address: str) -> Answer:
        """Reporting's public aggregates for an agency (and province), counted against the visitor's address as
        intake counts them (reporting trusts the header only from HUB_REPORTING_TRUSTED_PROXIES)."""
        return await self._call(self.reporting, "GET", "/api/v1/open-data", params=query, headers={"X-Forwarded-For": citizen_address})

    async def as_staff(self, client: httpx.AsyncClient, path: str, token: str, route: str,
                       params: dict[str, str] | None = None) -> Answer:
        """A GET on behalf of a signed-in staff member, with their short-lived bearer token; the service decides
        what they may see. `route` is the path's template, for the span (a case's id stays out of it)."""
        return await self._call(client, "GET", path, params=params, route=route, headers={"Authorization": f"Bearer {token}"})

    async def send_as_staff(self, client: httpx.AsyncClient, method: str, path: str, token: str, route: str, body: dict) -> Answer:
        """A step on a case (POST or PUT with a JSON body) on behalf of a signed-in staff member; the service decides."""
        return await self._call(client, method, path, body, route=route, headers={"Authorization": f"Bearer {token}"})

    async def file_as_staff(self, path: str, token: str, route: str) -> httpx.Response | None:
        """A case's attachment from intake as the service sent it (type, name, content), for a staff member; None
        when intake did not answer."""
        try:
            with self._span(self.intake, "GET", route):
                return await self.intake.get(path, headers={"Authorization": f"Bearer {token}", **_propagated()})
        except httpx.HTTPError as error:
            log.warning("GET %s%s failed: %s", self.intake.base_url, route, type(error).__name__)
            return None

    async def places(self) -> dict:
        """Agencies, provinces and their counties (routing), kept a few minutes."""
        if self._places is None or time.monotonic() - self._places[0] > PLACES_SECONDS:
            answer = await self._call(self.routing, "GET", "/api/v1/org/places")
            self._places = (time.monotonic(), answer.body)
        return self._places[1]

    async def attachment_policy(self) -> dict:
        """Intake's limits on attachments, read once."""
        if self._policy is None:
            self._policy = (await self._call(self.intake, "GET", "/api/v1/attachments/policy")).body
        return self._policy

    async def unit_name(self, unit_id: str) -> dict | None:
        """The unit's names (routing: `name_fa`, and `name_en` or None), None when the tree has no such unit. Names
        found are kept for the process (only those: a stream of made-up ids must not grow the cache)."""
        if unit_id in self._unit_names:
            return self._unit_names[unit_id]
        answer = await self._call(self.routing, "GET", f"/api/v1/org/places/units/{unit_id}", route="/api/v1/org/places/units/{unit_id}")
        if answer.status in (404, 422):
            return None
        if answer.status != 200:
            raise Unavailable(unit_id)
        names = {"name_fa": answer.body["name_fa"], "name_en": answer.body.get("name_en")}
        self._unit_names[unit_id] = names
        return names

    async def serving(self, client: httpx.AsyncClient) -> str:
        try:
            answer = await client.get("/health/serving", timeout=3)
        except httpx.HTTPError as error:
            return f"failed: {type(error).__name__}"
        return "ok" if answer.status_code == 200 else f"failed: HTTP {answer.status_code}"

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, body: dict | None = None,
                    headers: dict[str, str] | None = None, params: dict[str, str] | None = None, route: str | None = None) -> Answer:
        headers = dict(headers or {})
        with self._span(client, method, route or path) as span:
            propagate.inject(headers)  # traceparent: the service's spans continue this trace
            try:
                response = await client.request(method, path, json=body, headers=headers, params=params)
            except httpx.HTTPError as error:  # never the body: it may hold a citizen's personal data
                log.warning("%s %s%s failed: %s", method, client.base_url, path, type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise Unavailable(path) from None
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500 or response.status_code == 429 and not response.content:
                log.warning("%s %s%s answered %s", method, client.base_url, path, response.status_code)
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
                raise Unavailable(path)
        return Answer(response.status_code, _json(response))

    @contextmanager
    def _span(self, client: httpx.AsyncClient, method: str, route: str) -> Iterator[trace.Span]:
        """A client span under the page's span; none outside a traced request (a visit's rating, the health check),
        where a span would start a trace of its own."""
        if not trace.get_current_span().get_span_context().is_valid:
            yield trace.INVALID_SPAN
            return
        service = {id(self.intake): "intake", id(self.routing): "routing", id(self.reporting): "reporting",
                   id(self.followup): "followup", id(self.gateway): "samad-gateway"}.get(id(client), "")
        attributes = {"http.request.method": method, "url.template": route, "peer.service": service,
                      "server.address": client.base_url.host, "server.port": client.base_url.port or 80}
        with self._tracer.start_as_current_span(f"{method} {route}", kind=SpanKind.CLIENT, attributes=attributes,
                                                record_exception=False, set_status_on_exception=False) as span:
            yield span


def _propagated() -> dict[str, str]:
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"items": body}
