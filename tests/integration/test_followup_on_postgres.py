"""Follow-up's ladder on PostgreSQL with two replicas: their pollers race over the same due steps, and every
step still fires exactly once; a step claimed by a replica that died is fired by the other once the lease ends;
a step whose firing keeps raising ends `failed` after the allowed attempts, whichever replica tried it."""

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from hub_followup import firing
from hub_followup.app import create_runtime
from hub_followup.firing import PollerSettings, TimerPoller
from hub_followup.models import Timer
from hub_shared.calendar import Calendars
from hub_shared.events import CaseEscalated, CaseRouted, FollowUpSent, ReminderSent, RoutingDecision, SlaBreached
from hub_shared.jalali import TEHRAN
from hub_shared.settings import HubSettings
from hub_shared.testing import deliver, staged

KASHAN = "labour/isfahan/kashan/performance-office"
DEADLINE = datetime(2027, 1, 9, 23, 59, 59, tzinfo=TEHRAN)
ROUTED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
EVERY_CASE = ["reminder-5", "reminder-1", "sla-breached", "follow-up-1", "follow-up-2", "follow-up-3", "escalation-1",
              "escalation-2", "repeat-1"]  # due by 10 February 2027; repeat-2 waits for the 15th


class ManualClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def replica(database_url: str, data_dir: Path, clock: ManualClock):
    runtime = create_runtime(HubSettings(service_name="followup", data_dir=data_dir, database_url=database_url), clock)
    runtime.migrate()
    return runtime


def routed() -> CaseRouted:
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id=KASHAN, unit_name="دفتر",
                      decision=RoutingDecision(rule="r", explanation="e"), working_days=30, deadline_at=DEADLINE,
                      deadline_jalali="1405/10/19 23:59", routed_at=ROUTED_AT)


def step_of(event) -> str | None:
    match event:
        case ReminderSent():
            return f"reminder-{event.days_left}"
        case SlaBreached():
            return "sla-breached"
        case CaseEscalated():
            return f"escalation-{event.level}"
        case FollowUpSent():
            return f"repeat-{event.repeat}" if event.repeat else f"follow-up-{event.level}"
    return None


async def published_steps(runtime) -> Counter:
    return Counter((str(e.data.case_id), step) for e in await staged(runtime) if (step := step_of(e.data)))


async def due_left(runtime, clock: ManualClock) -> int:
    async with runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(Timer)
                                   .where(Timer.status == "pending", col(Timer.due_at) <= clock.now()))).one()


async def drain(runtime, poller: TimerPoller, clock: ManualClock) -> int:
    """Fire until nothing is due; a step another replica holds is left to it."""
    fired = 0
    while True:
        fired += (batch := await poller.fire_due())
        if not batch:
            if not await due_left(runtime, clock):
                return fired
            await asyncio.sleep(0.01)


async def test_two_replicas_racing_fire_every_step_of_every_case_exactly_once(postgres_database: str, tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    a, b = replica(postgres_database, tmp_path / "a", clock), replica(postgres_database, tmp_path / "b", clock)
    try:
        cases = [routed() for _ in range(200)]
        await deliver(a, *cases)
        clock.at = datetime(2027, 2, 10, 12, 0, tzinfo=TEHRAN)
        small_batches = PollerSettings(claim_batch=20)
        pollers = [TimerPoller(a, clock, Calendars.of_week(), small_batches, owner="a"),
                   TimerPoller(b, clock, Calendars.of_week(), small_batches, owner="b")]
        started = time.perf_counter()
        fired_by = await asyncio.gather(drain(a, pollers[0], clock), drain(b, pollers[1], clock))
        elapsed = time.perf_counter() - started

        steps = await published_steps(a)
        assert set(steps.values()) == {1}
        assert sorted(steps) == sorted((str(case.case_id), step) for case in cases for step in EVERY_CASE)
        assert sum(fired_by) == 200 * 8 and min(fired_by) > 0  # 8 timers per case (the deadline step publishes two events)
        print(f"\n2 replicas fired {sum(fired_by)} steps ({fired_by[0]} + {fired_by[1]}) in {elapsed:.2f}s: "
              f"{sum(fired_by) / elapsed:.0f} steps/s")
    finally:
        await a.engine.dispose()
        await b.engine.dispose()


async def test_a_step_claimed_by_a_replica_that_died_is_fired_by_the_other_once(postgres_database: str, tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    a, b = replica(postgres_database, tmp_path / "a", clock), replica(postgres_database, tmp_path / "b", clock)
    try:
        cases = [routed() for _ in range(30)]
        await deliver(a, *cases)
        clock.at = DEADLINE + timedelta(hours=1)  # the reminders have passed too: 90 steps due
        lease = PollerSettings(lease_seconds=30, claim_batch=500)
        dead = TimerPoller(a, clock, Calendars.of_week(), lease, owner="dead")
        survivor = TimerPoller(b, clock, Calendars.of_week(), lease, owner="survivor")
        claimed = await dead.claim()
        assert len(claimed) == 90
        assert await survivor.fire_due() == 0  # leased to the dead replica
        clock.at += timedelta(seconds=31)
        assert await survivor.fire_due() == 90
        assert [await dead.fire(timer_id) for timer_id in claimed] == [False] * 90  # back from the dead: nothing doubles
        steps = await published_steps(a)
        assert set(steps.values()) == {1} and len(steps) == 30 * 4
        async with a.sessions() as session:
            attempts = (await session.exec(select(Timer.attempts).where(col(Timer.id).in_(claimed)))).all()
        assert set(attempts) == {2}
    finally:
        await a.engine.dispose()
        await b.engine.dispose()


async def test_a_step_that_keeps_failing_ends_failed_on_both_replicas_while_the_others_fire(
        postgres_database: str, tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    a, b = replica(postgres_database, tmp_path / "a", clock), replica(postgres_database, tmp_path / "b", clock)
    try:
        cases = [routed() for _ in range(10)]
        broken, real_climb = cases[0].case_id, firing.climb

        def climb(ladder, *rest):
            if ladder.case_id == broken:
                raise LookupError("no ladder policy resolves")
            return real_climb(ladder, *rest)

        monkeypatch.setattr(firing, "climb", climb)
        await deliver(a, *cases)
        clock.at = DEADLINE + timedelta(hours=1)  # 3 steps due in each case
        settings = PollerSettings(max_timer_attempts=2, retry_seconds=1)
        pollers = [TimerPoller(a, clock, Calendars.of_week(), settings, owner="a"), TimerPoller(b, clock, Calendars.of_week(), settings, owner="b")]
        assert sum(await asyncio.gather(*(poller.fire_due() for poller in pollers))) == 9 * 3
        clock.at += timedelta(seconds=1)
        assert [await poller.claim() for poller in pollers] == [[], []]  # held back for a second: not yet
        clock.at += timedelta(seconds=1, milliseconds=1)
        assert sum(await asyncio.gather(*(poller.fire_due() for poller in pollers))) == 0
        clock.at += timedelta(hours=1)
        assert [await poller.claim() for poller in pollers] == [[], []]

        async with a.sessions() as session:
            rows = (await session.exec(select(Timer.status, Timer.attempts, Timer.last_error).where(Timer.case_id == broken))).all()
        assert sorted(rows) == [("failed", 2, "LookupError: no ladder policy resolves")] * 3
        steps = await published_steps(a)
        assert set(steps.values()) == {1} and len(steps) == 9 * 4 and str(broken) not in {case for case, _ in steps}
    finally:
        await a.engine.dispose()
        await b.engine.dispose()
