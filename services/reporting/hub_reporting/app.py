"""Reporting wiring: projections of case facts and ratings, and the status, report, satisfaction, feed, timeline and open-data APIs."""

from pathlib import Path

from hub_reporting import api, feed_api, open_data_api, reports_api, satisfaction_api
from hub_reporting.projection import PROJECTED, finish, prepare, project
from hub_reporting.satisfaction import project_ratings
from hub_reporting.settings import ReportingSettings
from hub_shared.calendar import load_calendars
from hub_shared.consumer import Subscription
from hub_shared.events import RatingSubmitted
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES, FEEDBACK


def create_runtime(settings: HubSettings) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Read models built from events: case status and history, statistics, satisfaction, change feed, timeline.")
    reporting = ReportingSettings()
    calendars = load_calendars(settings)  # each case fact names its unit's calendar
    runtime.reporting_subscriptions = [
        Subscription(topic=CASES.name, group="reporting", handlers={model.event_type: project for model in PROJECTED},
                     prepare=prepare, finish=finish, prompt=False),
        # the ratings group keeps the short linger: its batches fill while ratings flow, and with 250 ms (`prompt=False`)
        # the bench's ratings on PostgreSQL measured 845 and 859/s against 970 and 1,003/s
        Subscription(topic=FEEDBACK.name, group="reporting-feedback", batch_handlers={RatingSubmitted.event_type: project_ratings},
                     hold_cases=False),  # ratings are keyed by unit and add up in any order: one bad rating holds none
    ]
    for subscription in runtime.reporting_subscriptions:
        runtime.add_subscription(subscription)
    runtime.routers += [api.router(runtime), feed_api.router(runtime, reporting), reports_api.router(runtime, reporting, calendars),
                        satisfaction_api.router(runtime, reporting), open_data_api.router(runtime, reporting, calendars)]
    return runtime
