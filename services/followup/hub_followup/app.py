"""Follow-up wiring: the consumer of routed cases and the timers API."""

from pathlib import Path

from hub_followup.api import router
from hub_followup.clock import Clock, SystemClock
from hub_followup.firing import TimerPoller
from hub_followup.casework import PUBLISHED, CaseWork, load_cases
from hub_followup.casework_api import router as casework_router
from hub_followup.handlers import DeadlineKeeper, load_ladders
from hub_followup.ladder import policies
from hub_shared.calendar import load_calendars
from hub_shared.consumer import Subscription
from hub_shared.events import (CaseAnswered, CaseArchived, CaseForwarded, CaseReturned, CaseRouted, CaseTransferred,
                               DeadlineScheduled)
from hub_shared.events import CaseEscalated, CaseRejected, CaseReopened, FollowUpSent, ReminderSent, SlaBreached
from hub_shared.events import SubmitResponse
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES, INBOUND


def create_runtime(settings: HubSettings, clock: Clock | None = None) -> Runtime:
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations",
                      description="Keeps durable deadline timers for routed cases; follow-ups and escalation build on them.")
    policies()  # a bad ladder policy file stops the service here, naming the file
    # Each ladder counts on the calendar routing names for the case's unit, with the same holidays file.
    clock, calendars = clock or SystemClock(), load_calendars(settings)
    keeper = DeadlineKeeper(runtime, clock, calendars)
    runtime.add_subscription(Subscription(topic=CASES.name, group="followup", handlers={
        CaseRouted.event_type: keeper.on_routed,
        **{event.event_type: keeper.on_moved for event in (CaseTransferred, CaseForwarded)},
        **{event.event_type: keeper.on_closed for event in (CaseReturned, CaseAnswered, CaseArchived)},
        CaseRejected.event_type: keeper.on_closed,
        CaseReopened.event_type: keeper.on_reopened,
    }, prepare=load_ladders, prompt=False))
    runtime.publisher(CASES.name, DeadlineScheduled)
    for step_event in (ReminderSent, SlaBreached, FollowUpSent, CaseEscalated):
        runtime.publisher(CASES.name, step_event)
    runtime.background.append(TimerPoller(runtime, clock, calendars).poll)
    runtime.routers.append(router(runtime, runtime.auth))
    # Case work reads hub.cases.v1 in a group of its own rather than sharing the timers' handlers: each
    # group gets every fact with its own inbox and offsets, so the two consumers evolve apart.
    work = CaseWork(runtime, clock)
    runtime.add_subscription(Subscription(topic=CASES.name, group="followup-casework", handlers=work.case_facts(),
                                          prepare=load_cases, prompt=False))
    runtime.add_subscription(Subscription(topic=INBOUND.name, group="followup-inbound",
                                          handlers={SubmitResponse.event_type: work.on_submit_response}))
    for event in PUBLISHED:
        runtime.publisher(event.topic, event)
    runtime.routers.append(casework_router(runtime, work))
    return runtime
