"""The follow-up ladder on SQLite, in accelerated time: a manual clock jumps from one due step to the next,
and the poller fires what is due. Every step is published once, in order, at its due time and not before."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from hub_followup.app import create_runtime
from hub_followup.firing import PollerSettings, TimerPoller
from hub_followup.ladder import POLICY_DIR, Step, load_policies, pause_clock, policies, resume_clock, timer_for
from hub_followup.models import Ladder, Timer
from hub_shared.calendar import Calendars, WorkingCalendar
from hub_shared.envelope import Envelope
from hub_shared.events import (AnswerOutcome, CaseAnswered, CaseEscalated, CaseReopened, CaseRouted, CaseTransferred,
                               FollowUpSent, ReminderSent, RoutingDecision, SlaBreached)
from hub_shared.jalali import TEHRAN, as_utc
from hub_shared.testing import deliver, sqlite_runtime, staged

KASHAN = "labour/isfahan/kashan/performance-office"
DEADLINE = datetime(2027, 1, 9, 23, 59, 59, tzinfo=TEHRAN)  # a Saturday
ROUTED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
WHOLE_LADDER = [  # (step, Tehran date it is due), counted by hand on the calendar (Thursday and Friday off)
    ("reminder-5", "2026-12-30"),  # Thu 31 Dec and Fri 1 Jan off
    ("reminder-1", "2027-01-05"),  # Wed 6 Jan is a holiday (Isra' and Mi'raj)
    ("sla-breached", "2027-01-09"), ("follow-up-1", "2027-01-09"),
    ("follow-up-2", "2027-01-12"), ("follow-up-3 with notice", "2027-01-17"),
    ("escalation-1 to labour/isfahan/performance-office", "2027-01-25"),  # Sun 24 Jan is a holiday
    ("escalation-2 to labour/performance-office", "2027-02-01"),
    ("repeat-1", "2027-02-08"), ("repeat-2", "2027-02-15"), ("repeat-3", "2027-02-22"),
]
STEP_EVENTS = (ReminderSent, SlaBreached, FollowUpSent, CaseEscalated)


class ManualClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def followup(tmp_path: Path, clock: ManualClock):
    return sqlite_runtime(lambda settings: create_runtime(settings, clock), "followup", tmp_path)


def routed(unit_id: str = KASHAN, deadline_at: datetime = DEADLINE, calendar: str | None = None) -> CaseRouted:
    return CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id=unit_id, unit_name="دفتر",
                      decision=RoutingDecision(rule="r", explanation="e"), working_days=30, deadline_at=deadline_at,
                      deadline_jalali="1405/10/19 23:59", routed_at=ROUTED_AT, calendar=calendar)


def step_of(envelope: Envelope) -> str:
    event = envelope.data
    if isinstance(event, ReminderSent):
        return f"reminder-{event.days_left}"
    if isinstance(event, SlaBreached):
        return "sla-breached"
    if isinstance(event, CaseEscalated):
        return f"escalation-{event.level} to {event.to_unit}"
    if event.repeat:
        return f"repeat-{event.repeat}"
    return f"follow-up-{event.level}" + (" with notice" if event.notice_to_superiors else "")


async def steps(runtime, ladder: int | None = None) -> list[tuple[str, str]]:
    """(step, Tehran date published) of every ladder event in the outbox, oldest first."""
    return [(step_of(e), _published_at(e.data).astimezone(TEHRAN).date().isoformat()) for e in await staged(runtime)
            if isinstance(e.data, STEP_EVENTS) and ladder in (None, e.data.ladder)]


def _published_at(event) -> datetime:
    return getattr(event, "sent_at", None) or getattr(event, "breached_at", None) or event.escalated_at


async def next_due(runtime) -> datetime | None:
    async with runtime.sessions() as session:
        due = (await session.exec(select(Timer.due_at).where(Timer.status == "pending").order_by(col(Timer.due_at)))).first()
    return as_utc(due) if due else None


async def run_until(runtime, poller: TimerPoller, clock: ManualClock, until: datetime) -> None:
    """Jump from one due step to the next: a second before, nothing fires; at its due time, it does."""
    while (due := await next_due(runtime)) is not None and due <= until:
        clock.at = due - timedelta(seconds=1)
        assert await poller.fire_due() == 0
        clock.at = due
        assert await poller.fire_due() >= 1
    clock.at = until


async def timers(runtime, case_id) -> list[tuple[str, str, str, str]]:
    async with runtime.sessions() as session:
        rows = (await session.exec(select(Timer).where(Timer.case_id == case_id).order_by(col(Timer.id)))).all()
    return [(t.step, t.status, t.unit_id, as_utc(t.due_at).astimezone(TEHRAN).date().isoformat()) for t in rows]


def at_tehran(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=TEHRAN).astimezone(UTC)


async def test_the_whole_ladder_climbs_once_in_order_at_each_due_time(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime = followup(tmp_path, clock)
    await deliver(runtime, routed())
    await run_until(runtime, TimerPoller(runtime, clock, Calendars.of_week()), clock, at_tehran("2027-02-25"))
    assert await steps(runtime) == WHOLE_LADDER


async def test_reminders_move_off_a_day_the_shared_holidays_file_closes(tmp_path, monkeypatch) -> None:
    closures = tmp_path / "holidays.yaml"
    closures.write_text("add: [{date: 2027-01-05, reason: تعطیلی به دلیل آلودگی هوا}]\n", encoding="utf-8")
    monkeypatch.setenv("HUB_HOLIDAYS_FILE", str(closures))
    clock = ManualClock(ROUTED_AT)
    runtime = followup(tmp_path, clock)
    await deliver(runtime, routed())
    await run_until(runtime, TimerPoller(runtime, clock, Calendars.of_week()), clock, at_tehran("2027-01-08"))
    # Tue 5 Jan is closed: one working day before Sat 9 is Mon 4, and five are Tue 29 Dec (not Wed 30)
    assert await steps(runtime) == [("reminder-5", "2026-12-29"), ("reminder-1", "2027-01-04")]


async def test_an_answer_cancels_every_waiting_step(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    poller = TimerPoller(runtime, clock, Calendars.of_week())
    await deliver(runtime, case)
    await run_until(runtime, poller, clock, at_tehran("2027-01-10"))
    await deliver(runtime, CaseAnswered(case_id=case.case_id, tracking_code=case.tracking_code, unit_id=KASHAN,
                                        outcome=AnswerOutcome.upheld, answer_fa="پاسخ", legal_grounds="ماده ۱",
                                        answered_at=clock.now()))
    await run_until(runtime, poller, clock, at_tehran("2027-06-01"))
    assert [step for step, _ in await steps(runtime)] == ["reminder-5", "reminder-1", "sla-breached", "follow-up-1"]
    assert {status for _, status, _, _ in await timers(runtime, case.case_id)} == {"fired", "cancelled"}


async def test_a_transfer_moves_the_waiting_steps_to_the_new_unit_with_their_due_times(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    await deliver(runtime, case)
    before = await timers(runtime, case.case_id)
    await deliver(runtime, CaseTransferred(
        case_id=case.case_id, tracking_code=case.tracking_code, from_unit=KASHAN, unit_id="industry/tehran/performance-office",
        unit_name="صمت", agency="industry", transfers=1, deadline_at=DEADLINE, reason="not ours", by="e-1",
        transferred_at=clock.now()))
    after = await timers(runtime, case.case_id)
    assert [(step, due) for step, _, _, due in after] == [(step, due) for step, _, _, due in before]
    assert {unit for _, _, unit, _ in after} == {"industry/tehran/performance-office"}
    await run_until(runtime, TimerPoller(runtime, clock, Calendars.of_week()), clock, at_tehran("2027-01-10"))
    breach = next(e.data for e in await staged(runtime) if isinstance(e.data, SlaBreached))
    assert breach.unit_id == "industry/tehran/performance-office"


async def test_a_reopened_case_starts_a_fresh_ladder_from_the_reopening(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    poller = TimerPoller(runtime, clock, Calendars.of_week())
    await deliver(runtime, case)
    await run_until(runtime, poller, clock, at_tehran("2027-01-13"))
    common = {"case_id": case.case_id, "tracking_code": case.tracking_code}
    await deliver(runtime, CaseAnswered(**common, unit_id=KASHAN, outcome=AnswerOutcome.not_upheld, answer_fa="پاسخ",
                                        legal_grounds="ماده ۱", answered_at=clock.now()))
    clock.at = at_tehran("2027-03-06")  # a Saturday
    await deliver(runtime, CaseReopened(**common, reopenings=1, reopened_at=clock.now()))
    async with runtime.sessions() as session:
        ladder = await session.get(Ladder, case.case_id)
    expected = WorkingCalendar().deadline(clock.now(), 30)
    assert (ladder.number, as_utc(ladder.deadline_at)) == (2, expected)
    await run_until(runtime, poller, clock, expected + timedelta(hours=1))
    assert [step for step, _ in await steps(runtime, ladder=2)] == ["reminder-5", "reminder-1", "sla-breached", "follow-up-1"]
    assert (await steps(runtime, ladder=2))[-1][1] == expected.astimezone(TEHRAN).date().isoformat()
    assert [step for step, _ in await steps(runtime, ladder=1)] == [step for step, _ in WHOLE_LADDER[:5]]


async def test_pausing_stops_the_clock_and_resuming_moves_every_waiting_step_later(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed()
    poller = TimerPoller(runtime, clock, Calendars.of_week())
    await deliver(runtime, case)
    before = {step: due for step, _, _, due in await timers(runtime, case.case_id)}
    paused_at = at_tehran("2026-12-20")
    async with runtime.sessions() as session, session.begin():
        assert await pause_clock(session, case.case_id, paused_at) is True
    await run_until(runtime, poller, clock, at_tehran("2027-02-01"))
    assert await steps(runtime) == []
    async with runtime.sessions() as session, session.begin():
        await resume_clock(session, case.case_id, paused_at + timedelta(days=10))
    async with runtime.sessions() as session:
        assert as_utc((await session.get(Ladder, case.case_id)).deadline_at) == DEADLINE + timedelta(days=10)
    moved = {step: due for step, status, _, due in await timers(runtime, case.case_id) if status == "pending"}
    shift = {step: (datetime.fromisoformat(moved[step]) - datetime.fromisoformat(before[step])).days for step in before}
    assert shift == {"reminder-5": 10, "reminder-1": 10, "answer_deadline": 10}
    await run_until(runtime, poller, clock, at_tehran("2027-02-01"))  # all three were overdue: they fire now, in order
    assert [step for step, _ in await steps(runtime)][:4] == ["reminder-5", "reminder-1", "sla-breached", "follow-up-1"]


async def test_an_agency_whose_policy_does_not_pause_keeps_its_clock_running(tmp_path, monkeypatch) -> None:
    _write(tmp_path / "policies", "default.yaml", _shipped("default.yaml"))
    _write(tmp_path / "policies", "labour.yaml", "pause_on_information_request: false\n")
    monkeypatch.setenv("HUB_FOLLOWUP_POLICY_DIR", str(tmp_path / "policies"))
    policies.cache_clear()
    try:
        clock = ManualClock(ROUTED_AT)
        runtime, case = followup(tmp_path, clock), routed()
        await deliver(runtime, case)
        async with runtime.sessions() as session, session.begin():
            assert await pause_clock(session, case.case_id, clock.now()) is False
        assert {status for _, status, _, _ in await timers(runtime, case.case_id)} == {"pending"}
    finally:
        policies.cache_clear()


async def test_a_step_set_while_the_case_was_closing_or_pausing_waits_or_ends_instead_of_firing(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, paused, answered = followup(tmp_path, clock), routed(), routed()
    await deliver(runtime, paused, answered, CaseAnswered(
        case_id=answered.case_id, tracking_code=answered.tracking_code, unit_id=KASHAN, outcome=AnswerOutcome.upheld,
        answer_fa="پاسخ", legal_grounds="ماده ۱", answered_at=clock.now()))
    async with runtime.sessions() as session, session.begin():
        assert await pause_clock(session, paused.case_id, clock.now())
        for case in (paused, answered):  # as a fire racing the pause or the answer would have added them
            ladder = await session.get(Ladder, case.case_id)
            session.add(timer_for(ladder, Step("follow-up-2", clock.now(), KASHAN), clock.now()))
    assert await TimerPoller(runtime, clock, Calendars.of_week()).fire_due() == 0
    assert ("follow-up-2", "paused") in [(step, status) for step, status, _, _ in await timers(runtime, paused.case_id)]
    assert ("follow-up-2", "cancelled") in [(step, status) for step, status, _, _ in await timers(runtime, answered.case_id)]
    assert await steps(runtime) == []


def _shipped(name: str) -> str:
    return (POLICY_DIR / name).read_text(encoding="utf-8")


async def test_a_restart_mid_ladder_neither_loses_nor_repeats_a_step(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    first = followup(tmp_path, clock)
    await deliver(first, routed())
    await run_until(first, TimerPoller(first, clock, Calendars.of_week()), clock, at_tehran("2027-01-13"))
    clock.at = at_tehran("2027-01-18")  # follow-up-3 is due: a replica claims it and dies before firing it
    dying = TimerPoller(first, clock, Calendars.of_week(), PollerSettings(lease_seconds=60))
    assert len(await dying.claim()) == 1
    await first.engine.dispose()

    second = followup(tmp_path, clock)
    poller = TimerPoller(second, clock, Calendars.of_week(), PollerSettings(lease_seconds=60))
    assert await poller.fire_due() == 0  # the dead replica's lease still holds
    clock.at += timedelta(seconds=61)
    assert await poller.fire_due() == 1
    assert await dying.fire((await _fired_ids(second))[-1]) is False  # were it to come back, its claim is gone
    await run_until(second, poller, clock, at_tehran("2027-02-25"))
    assert [step for step, _ in await steps(second)] == [step for step, _ in WHOLE_LADDER]


async def _fired_ids(runtime) -> list[int]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(Timer.id).where(Timer.status == "fired").order_by(col(Timer.fired_at)))).all())


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("files,problem", [
    ({"default.yaml": "follow_up_evry: 3\n"}, "follow_up_evry: Extra inputs are not permitted"),
    ({"default.yaml": "- 5\n- 1\n"}, "expected a mapping"),
    ({"default.yaml": "follow_up_every: [3\n"}, "default.yaml"),
    ({"labour.yaml": "final_grace: 0\n"}, "labour.yaml: final_grace: Input should be greater than 0"),
    ({"labour.yaml": "reminders_before_deadline: [5, 5]\n"}, "reminder days repeat"),
    ({"hajj.yaml": "escalate_to: hq\n"}, "hajj.yaml: escalate_to: Extra inputs are not permitted"),
])
def test_a_bad_policy_file_stops_the_service_naming_the_file_and_the_problem(tmp_path, files, problem) -> None:
    _write(tmp_path, "default.yaml", _shipped("default.yaml"))
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(SystemExit, match=problem) as stopped:
        load_policies(tmp_path)
    assert str(tmp_path) in str(stopped.value)


def test_an_agency_file_overrides_the_default_key_by_key(tmp_path) -> None:
    _write(tmp_path, "default.yaml", _shipped("default.yaml"))
    _write(tmp_path, "hajj.yaml", "final_grace: 7\nreminders_before_deadline: [1, 3]\n")
    loaded = load_policies(tmp_path)
    assert loaded.of("labour") == loaded.default == load_policies(POLICY_DIR).default
    assert loaded.of("hajj") == loaded.default.model_copy(update={"final_grace": 7, "reminders_before_deadline": (3, 1)})
