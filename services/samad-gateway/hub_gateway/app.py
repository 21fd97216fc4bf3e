"""Gateway wiring: the case-fact subscription, the remotes' adapters, the push endpoint, and the two
background jobs (polling the remotes, delivering the outbound queue)."""

from pathlib import Path

from hub_gateway import api, handlers, mapping
from hub_gateway.breaker import CircuitBreaker
from hub_gateway.delivery import Deliverer
from hub_gateway.models import Delivery
from hub_gateway.polling import poller
from hub_gateway.remotes import HttpRemote
from hub_gateway.settings import GatewaySettings
from hub_shared.consumer import Subscription
from hub_shared.events import CaseLinked, CaseRegistered, SubmissionRejected, SubmitCase
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES, INBOUND


def create_runtime(settings: HubSettings, gateway: GatewaySettings | None = None, transport=None) -> Runtime:
    """`transport` (an httpx transport) lets tests put a fake or in-process remote behind the adapters."""
    gateway = gateway or GatewaySettings()
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations", secret_settings=[gateway],
                      description="SAMAD and inspection-organization gateway: cases in (push and poll), status and answers out, in order.")
    mappings = mapping.load(gateway.mappings_file)
    remotes = {name: HttpRemote(name, gateway.url(name), gateway.token(name),
                                CircuitBreaker(gateway.breaker_failures, gateway.breaker_cooldown_seconds),
                                timeout=gateway.timeout_seconds, transport=transport)
               for name in gateway.connected()}
    runtime.add_subscription(Subscription(topic=CASES.name, group="samad-gateway", handlers={
        CaseRegistered.event_type: handlers.on_registered, CaseLinked.event_type: handlers.on_linked,
        SubmissionRejected.event_type: handlers.on_submission_rejected, **handlers.STATUS_HANDLERS}, prepare=handlers.load_refs,
        prompt=False))
    runtime.publisher(INBOUND.name, SubmitCase)
    runtime.routers.append(api.router(runtime, gateway, remotes, mappings))
    runtime.deliverer = Deliverer(runtime.sessions, remotes, mappings, gateway)
    runtime.wake_on_commit(Delivery.__tablename__, runtime.deliverer.wake)
    runtime.remotes = remotes
    if remotes:
        runtime.background += [runtime.deliverer.run, poller(runtime, remotes, mappings, gateway.poll_seconds)]
    return runtime
