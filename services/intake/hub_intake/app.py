"""Intake wiring: settings, database, broker, HTTP routes."""

from pathlib import Path

from hub_intake.api import router
from hub_intake.settings import IntakeSettings
from hub_shared.events import CaseRegistered
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES


def create_runtime(settings: HubSettings) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Citizen edge: registers cases and tells citizens their tracking code.")
    runtime.publisher(CASES.name, CaseRegistered)
    runtime.routers.append(router(runtime, IntakeSettings()))
    return runtime
