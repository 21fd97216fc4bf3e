"""A ladder step whose firing raises (a bug, bad data, a policy that no longer resolves) is tried again later
and later, and after `max_timer_attempts` it is set `failed`, shown with its error and leased no more, while
every other step fires as usual. On SQLite, with a manual clock; the failures come from a stand-in `climb`."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from hub_followup import firing
from hub_followup.app import create_runtime
from hub_followup.firing import NO_OUTCOME, PollerSettings, TimerPoller, retry_failed
from hub_followup.models import Timer
from hub_shared.auth import Role
from hub_shared.calendar import Calendars
from hub_shared.events import AnswerOutcome, CaseAnswered, CaseForwarded, CaseRouted, FollowUpSent, ReminderSent, RoutingDecision
from hub_shared.jalali import TEHRAN, as_utc
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

KASHAN = "labour/isfahan/kashan/performance-office"
DEADLINE = datetime(2027, 1, 9, 23, 59, 59, tzinfo=TEHRAN)
ROUTED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
THREE_TRIES = PollerSettings(max_timer_attempts=3, retry_seconds=60, lease_seconds=300)
ERROR = "no ladder policy resolves for agency labour"


class ManualClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Broken:
    """Stands in for the ladder's `climb`: raises for the chosen steps, `times` times each (always when None)."""

    def __init__(self, monkeypatch, fails, times: int | None = None) -> None:
        self.fails, self.times, self.raised = fails, times, 0
        real = firing.climb

        def climb(ladder, timer, *rest):
            if self.fails(timer) and (self.times is None or self.raised < self.times):
                self.raised += 1
                raise LookupError(f"{ERROR}\nand a second line that is not kept")
            return real(ladder, timer, *rest)

        monkeypatch.setattr(firing, "climb", climb)


def followup(tmp_path, clock: ManualClock):
    return sqlite_runtime(lambda settings: create_runtime(settings, clock), "followup", tmp_path)


def routed() -> CaseRouted:
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id=KASHAN, unit_name="دفتر",
                      decision=RoutingDecision(rule="r", explanation="e"), working_days=30, deadline_at=DEADLINE,
                      deadline_jalali="1405/10/19 23:59", routed_at=ROUTED_AT)


def answered(case: CaseRouted, at: datetime) -> CaseAnswered:
    return CaseAnswered(case_id=case.case_id, tracking_code=case.tracking_code, unit_id=KASHAN, outcome=AnswerOutcome.upheld,
                        answer_fa="پاسخ", legal_grounds="ماده ۱", answered_at=at)


async def step(runtime, case_id, name: str = "reminder-5") -> Timer:
    async with runtime.sessions() as session:
        return (await session.exec(select(Timer).where(Timer.case_id == case_id, Timer.step == name))).one()


async def reminders(runtime) -> list[tuple[uuid.UUID, int]]:
    return [(e.data.case_id, e.data.days_left) for e in await staged(runtime) if isinstance(e.data, ReminderSent)]


def failed_for_good(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == firing.__name__]


async def test_a_step_that_keeps_failing_ends_failed_after_the_cap_and_is_leased_no_more(tmp_path, monkeypatch, caplog) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, broken, healthy = followup(tmp_path, clock), routed(), routed()
    Broken(monkeypatch, lambda timer: timer.case_id == broken.case_id)
    await deliver(runtime, broken, healthy)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), THREE_TRIES)
    clock.at = as_utc((await step(runtime, broken.case_id)).due_at)

    assert await poller.fire_due() == 1  # the healthy case's reminder fires beside the broken one's failure
    for wait in (60, 120):  # 1st and 2nd failures: tried again 60 s, then 120 s later
        clock.at += timedelta(seconds=wait + 1)
        assert await poller.fire_due() == 0
    clock.at += timedelta(hours=2)
    assert await poller.claim() == []

    timer = await step(runtime, broken.case_id)
    assert (timer.status, timer.attempts, timer.last_error) == ("failed", 3, f"LookupError: {ERROR}")
    assert timer.lease_owner is None and timer.lease_until is None
    assert await reminders(runtime) == [(healthy.case_id, 5)]
    assert failed_for_good(caplog) == ["ladder step reminder-5 failed for good after 3 attempts (LookupError); it is "
                                       "leased no more: fix the cause, then retry it"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        shown = (await client.get(f"/api/v1/cases/{broken.case_id}/timers", headers=bearer(Role.expert, "labour/isfahan"))).json()
    assert {"step": "reminder-5", "status": "failed", "attempts": 3, "last_error": f"LookupError: {ERROR}"}.items() <= shown[0].items()
    assert [t["status"] for t in shown[1:]] == ["pending", "pending"]  # the case's later steps still wait


async def test_a_step_that_fails_then_succeeds_fires_once_and_the_ladder_goes_on_from_its_due_time(tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    Broken(monkeypatch, lambda timer: timer.step == "answer_deadline", times=2)
    await deliver(runtime, case)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), THREE_TRIES)
    deadline = await step(runtime, case.case_id, "answer_deadline")
    clock.at = as_utc(deadline.due_at)
    assert await poller.fire_due() == 2  # both reminders, overdue; the deadline step fails
    clock.at += timedelta(seconds=61)
    assert await poller.fire_due() == 0
    clock.at += timedelta(seconds=121)
    assert await poller.fire_due() == 1
    clock.at += timedelta(hours=1)
    assert await poller.fire_due() == 0

    timer = await step(runtime, case.case_id, "answer_deadline")
    assert (timer.status, timer.attempts, timer.last_error) == ("fired", 3, f"LookupError: {ERROR}")
    assert [e.data.level for e in await staged(runtime) if isinstance(e.data, FollowUpSent)] == [1]
    after = await step(runtime, case.case_id, "follow-up-2")  # counted from the deadline, not from the late fire
    assert as_utc(after.due_at).astimezone(TEHRAN).time() == DEADLINE.time()


async def test_each_failure_holds_the_step_back_twice_as_long_as_the_last(tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    Broken(monkeypatch, lambda timer: True)
    await deliver(runtime, case)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), PollerSettings(max_timer_attempts=5, retry_seconds=60))
    clock.at = as_utc((await step(runtime, case.case_id)).due_at)
    assert len(await poller.claim()) == 1
    timer_id = (await step(runtime, case.case_id)).id
    for wait in (60, 120, 240, 480):
        assert await poller.fire(timer_id) is False
        failed_at = clock.at
        clock.at = failed_at + timedelta(seconds=wait - 1)
        assert await poller.claim() == []
        clock.at = failed_at + timedelta(seconds=wait + 1)
        assert await poller.claim() == [timer_id]
    assert [poller.backoff(failures) for failures in (1, 6, 7, 40)] == [
        timedelta(minutes=1), timedelta(minutes=32), timedelta(hours=1), timedelta(hours=1)]


async def test_a_case_closed_while_its_step_waits_to_be_tried_again_cancels_the_step(tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    Broken(monkeypatch, lambda timer: True)
    await deliver(runtime, case)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), THREE_TRIES)
    clock.at = as_utc((await step(runtime, case.case_id)).due_at)
    assert await poller.fire_due() == 0
    await deliver(runtime, answered(case, clock.now()))
    clock.at += timedelta(hours=1)
    assert await poller.fire_due() == 0
    assert (await step(runtime, case.case_id)).status == "cancelled"


async def test_an_operator_retries_a_failed_step_once_its_cause_is_fixed(tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, fixed, closed = followup(tmp_path, clock), routed(), routed()
    broken = Broken(monkeypatch, lambda timer: True)
    await deliver(runtime, fixed, closed)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), PollerSettings(max_timer_attempts=1))
    clock.at = as_utc((await step(runtime, fixed.case_id)).due_at)
    assert await poller.fire_due() == 0
    assert {(await step(runtime, case.case_id)).status for case in (fixed, closed)} == {"failed"}
    await deliver(runtime, answered(closed, clock.now()))  # closing cancels failed steps too: nothing is due any more
    assert (await step(runtime, closed.case_id)).status == "cancelled"

    broken.fails = lambda timer: False
    async with runtime.sessions() as session, session.begin():
        assert [await retry_failed(session, case.case_id) for case in (fixed, closed)] == [1, 0]
    assert await poller.fire_due() == 1
    assert (await step(runtime, fixed.case_id)).status == "fired"
    assert (await step(runtime, closed.case_id)).status == "cancelled"
    assert await reminders(runtime) == [(fixed.case_id, 5)]


async def test_a_failed_step_moves_with_its_case_and_a_retry_reaches_the_new_unit(tmp_path, monkeypatch) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    broken = Broken(monkeypatch, lambda timer: True)
    await deliver(runtime, case)
    poller = TimerPoller(runtime, clock, Calendars.of_week(), PollerSettings(max_timer_attempts=1))
    clock.at = as_utc((await step(runtime, case.case_id)).due_at)
    assert await poller.fire_due() == 0 and (await step(runtime, case.case_id)).status == "failed"
    cooperatives = "labour/isfahan/kashan/specialised-cooperatives"
    await deliver(runtime, CaseForwarded(case_id=case.case_id, tracking_code=case.tracking_code, from_unit=KASHAN, unit_id=cooperatives,
                                         unit_name="واحد تعاون", reason="تخصصی", by="manager-1", forwarded_at=clock.now()))
    assert (await step(runtime, case.case_id)).unit_id == cooperatives

    broken.fails = lambda timer: False
    async with runtime.sessions() as session, session.begin():
        assert await retry_failed(session, case.case_id) == 1
    assert await poller.fire_due() == 1
    [reminder] = [e.data for e in await staged(runtime) if isinstance(e.data, ReminderSent)]
    assert reminder.unit_id == cooperatives, "the retried step reminds the unit that holds the case now"


async def test_leases_that_end_without_an_outcome_count_as_attempts(tmp_path, caplog) -> None:
    """A step whose firing stops its replica (so nothing is recorded) still ends failed after the cap."""
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    await deliver(runtime, case)
    settings = PollerSettings(max_timer_attempts=2, lease_seconds=30)
    clock.at = as_utc((await step(runtime, case.case_id)).due_at)
    for replica in ("a", "b"):
        assert len(await TimerPoller(runtime, clock, Calendars.of_week(), settings, owner=replica).claim()) == 1
        clock.at += timedelta(seconds=31)  # ... and the replica stops before firing it
    assert await TimerPoller(runtime, clock, Calendars.of_week(), settings, owner="c").fire_due() == 0
    timer = await step(runtime, case.case_id)
    assert (timer.status, timer.attempts, timer.last_error, timer.lease_owner) == ("failed", 2, NO_OUTCOME, None)
    assert len(failed_for_good(caplog)) == 1 and "reminder-5 failed for good after 2 attempts" in failed_for_good(caplog)[0]
    async with runtime.sessions() as session:
        assert (await session.exec(select(Timer.status).where(col(Timer.case_id) == case.case_id)
                                   .order_by(col(Timer.due_at)))).all() == ["failed", "pending", "pending"]


def test_the_cap_comes_from_the_environment_and_is_at_least_one(monkeypatch) -> None:
    monkeypatch.setenv("HUB_FOLLOWUP_MAX_TIMER_ATTEMPTS", "8")
    assert PollerSettings().max_timer_attempts == 8
    monkeypatch.setenv("HUB_FOLLOWUP_MAX_TIMER_ATTEMPTS", "0")
    with pytest.raises(ValidationError, match="max_timer_attempts"):
        PollerSettings()
