"""Follow-up wiring: the consumer of routed cases and the timers API."""

from pathlib import Path

from hub_followup.api import router
from hub_followup.handlers import DeadlineKeeper
from hub_shared.auth import AuthSettings
from hub_shared.consumer import Subscription
from hub_shared.events import CaseRouted, DeadlineScheduled
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES


def create_runtime(settings: HubSettings) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Keeps durable deadline timers for routed cases; follow-ups and escalation build on them.")
    keeper = DeadlineKeeper(runtime)
    runtime.add_subscription(Subscription(topic=CASES.name, group="followup", handlers={CaseRouted.event_type: keeper.on_routed}))
    runtime.publisher(CASES.name, DeadlineScheduled)
    runtime.routers.append(router(runtime, AuthSettings()))
    return runtime
