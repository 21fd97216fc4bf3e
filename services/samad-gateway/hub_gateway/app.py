"""Gateway wiring: subscribes to case facts. The SAMAD and inspection adapters are not built yet."""

from pathlib import Path

from hub_gateway.handlers import on_registered
from hub_shared.consumer import Subscription
from hub_shared.events import CaseRegistered
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES


def create_runtime(settings: HubSettings) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="SAMAD and inspection-organization gateway (adapters to come); tracks externally originated cases.")
    runtime.add_subscription(Subscription(topic=CASES.name, group="samad-gateway", handlers={CaseRegistered.event_type: on_registered}))
    return runtime
