"""Routing wiring: the organisation tree, the rules in force, the calendars, the consumer of registered
cases and the API for moving cases."""

import asyncio
import logging
from pathlib import Path

from hub_routing import actions, org, places_api
from hub_routing.handlers import Router
from hub_routing.rulebook import SHIPPED_RULES, RuleBook, RuleError
from hub_routing.settings import RoutingSettings
from hub_routing.tree import OrgTree
from hub_shared.calendar import load_calendars
from hub_shared.consumer import Subscription
from hub_shared.reference import routing_keywords, topics
from hub_shared.events import CaseForwarded, CaseRegistered, CaseRejected, CaseReturned, CaseRouted, CaseTransferred
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES

log = logging.getLogger(__name__)


def create_runtime(settings: HubSettings) -> Runtime:
    own = RoutingSettings()
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Refers each registered case to the responsible unit by the rules in force, with a "
                                  "working-day deadline; transfers, forwards and returns.")
    tree = org.install(runtime)  # the live tree: seeded once, then changed by hub.org.v1 and the org API
    rules = _rulebook(own, tree)
    router = Router(runtime, tree, rules, load_calendars(settings))  # a bad holidays file stops routing here
    runtime.add_subscription(Subscription(topic=CASES.name, group="routing", handlers={CaseRegistered.event_type: router.on_registered}))
    for event in (CaseRouted, CaseRejected, CaseReturned, CaseTransferred, CaseForwarded):
        runtime.publisher(CASES.name, event)
    runtime.routers.append(actions.router(runtime, tree, rules, own))
    runtime.routers.append(places_api.router(tree))
    runtime.background.append(_reloader(rules, own.rules_reload_seconds))
    return runtime


def _rulebook(own: RoutingSettings, tree: OrgTree) -> RuleBook:
    try:
        return RuleBook(own.rules_dir or SHIPPED_RULES, own.answer_working_days, tree.unit, *_vocabularies())
    except RuleError as refused:
        raise SystemExit(f"HUB_ROUTING_RULES_DIR: {refused}") from None


def _vocabularies() -> tuple[frozenset[str], frozenset[str]]:
    """Topic ids and routing keyword ids rules may name (intake's classifier emits only these)."""
    return frozenset(t.id for t in topics()), frozenset(k.id for k in routing_keywords())


def _reloader(rules: RuleBook, every_seconds: float):
    async def reload_rules_periodically() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                rules.reload_if_changed()
            except Exception:  # a vanished folder, a permission change: keep the rules in force
                log.exception("checking the routing rules failed")

    return reload_rules_periodically
