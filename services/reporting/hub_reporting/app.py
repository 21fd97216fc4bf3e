"""Reporting wiring: the case-status projection and its API."""

from pathlib import Path

from hub_reporting.api import router
from hub_reporting.projection import PROJECTED, project
from hub_shared.consumer import Subscription
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES


def create_runtime(settings: HubSettings) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Read models built from events: case status and history by tracking code.")
    runtime.add_subscription(Subscription(topic=CASES.name, group="reporting",
                                          handlers={model.event_type: project for model in PROJECTED}))
    runtime.routers.append(router(runtime))
    return runtime
