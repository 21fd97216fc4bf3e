"""The poller sleeps between steps instead of looking every second: it wakes when the next step falls due,
or when a commit in this process sets a step, with a safety poll of a minute that no test here waits for.
Real time, shifted to the ladder's dates, so the poller's sleeps are real."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from tenacity import AsyncRetrying, stop_after_delay, wait_fixed

from hub_followup.app import create_runtime
from hub_followup.firing import PollerSettings, TimerPoller
from hub_followup.models import Timer, TimerStatus
from hub_shared.calendar import Calendars
from hub_shared.events import CaseRouted, RoutingDecision
from hub_shared.jalali import TEHRAN, as_utc
from hub_shared.testing import deliver, sqlite_runtime

KASHAN = "labour/isfahan/kashan/performance-office"
DEADLINE = datetime(2027, 1, 9, 23, 59, 59, tzinfo=TEHRAN)
SAFETY_POLL = PollerSettings(poll_seconds=60)


class ShiftedClock:
    """Real time moved to a chosen instant."""

    def __init__(self, at: datetime) -> None:
        self.shift = at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


def routed() -> CaseRouted:
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id=KASHAN, unit_name="دفتر",
                      decision=RoutingDecision(rule="r", explanation="e"), working_days=30, deadline_at=DEADLINE,
                      deadline_jalali="1405/10/19 23:59", routed_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))


async def timers(runtime) -> list[Timer]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(Timer).order_by(col(Timer.due_at)))).all())


async def until_fired(runtime, step: str) -> None:
    async for attempt in AsyncRetrying(stop=stop_after_delay(10), wait=wait_fixed(0.05), reraise=True):
        with attempt:
            assert [t.status for t in await timers(runtime) if t.step == step] == [TimerStatus.fired.value]


async def test_the_poller_wakes_when_the_next_step_falls_due(tmp_path) -> None:
    clock = ShiftedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    runtime = sqlite_runtime(lambda settings: create_runtime(settings, clock), "followup", tmp_path)
    await deliver(runtime, routed())
    first, *_ = await timers(runtime)
    clock.shift = as_utc(first.due_at) - timedelta(seconds=1) - datetime.now(UTC)  # due in a second
    poller = TimerPoller(runtime, clock, Calendars.of_week(), SAFETY_POLL)
    assert 0 < await poller.seconds_to_next_step() <= 1
    job = asyncio.create_task(poller.poll())
    try:
        await until_fired(runtime, first.step)
    finally:
        job.cancel()
        await runtime.engine.dispose()


async def test_a_step_brought_forward_by_a_commit_wakes_the_sleeping_poller(tmp_path) -> None:
    clock = ShiftedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    runtime = sqlite_runtime(lambda settings: create_runtime(settings, clock), "followup", tmp_path)
    await deliver(runtime, routed())  # the first step is weeks away
    poller = TimerPoller(runtime, clock, Calendars.of_week(), SAFETY_POLL)
    job = asyncio.create_task(poller.poll())
    try:
        await asyncio.sleep(0.3)  # nothing due: it sleeps (for the safety poll, the step being further off)
        first, *_ = await timers(runtime)
        async with runtime.sessions() as session, session.begin():
            await session.execute(update(Timer).where(col(Timer.id) == first.id).values(due_at=clock.now() - timedelta(seconds=1)))
        await until_fired(runtime, first.step)
    finally:
        job.cancel()
        await runtime.engine.dispose()


async def test_a_step_leased_elsewhere_is_looked_at_again_when_the_lease_ends(tmp_path) -> None:
    clock = ShiftedClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    runtime = sqlite_runtime(lambda settings: create_runtime(settings, clock), "followup", tmp_path)
    await deliver(runtime, routed())
    first, *_ = await timers(runtime)
    clock.shift = as_utc(first.due_at) + timedelta(minutes=1) - datetime.now(UTC)
    other = TimerPoller(runtime, clock, Calendars.of_week(), PollerSettings(lease_seconds=30), owner="replica-that-stopped")
    assert len(await other.claim()) == 1
    poller = TimerPoller(runtime, clock, Calendars.of_week(), SAFETY_POLL)
    assert 29 < await poller.seconds_to_next_step() <= 30, "not at once (it is leased), not never"
    await runtime.engine.dispose()
