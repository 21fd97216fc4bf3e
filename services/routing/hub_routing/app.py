"""Routing wiring: the tree, the calendar and the consumer of registered cases."""

from pathlib import Path

from hub_routing.calendar import WorkingCalendar
from hub_routing.handlers import Router
from hub_routing.settings import RoutingSettings
from hub_routing.tree import OrgTree
from hub_shared.consumer import Subscription
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted
from hub_shared.reference import org_seed
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES


def create_runtime(settings: HubSettings) -> Runtime:
    own = RoutingSettings()
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Refers each registered case to the nearest responsible unit with a working-day deadline.")
    router = Router(runtime, OrgTree(org_seed()), WorkingCalendar(thursday_off=own.thursday_off), own.answer_working_days)
    runtime.add_subscription(Subscription(topic=CASES.name, group="routing", handlers={CaseRegistered.event_type: router.on_registered}))
    runtime.publisher(CASES.name, CaseRouted)
    runtime.publisher(CASES.name, CaseRejected)
    return runtime
