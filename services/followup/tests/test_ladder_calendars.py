"""The ladder counts on the working calendar of the unit holding the case, as routing names it: a unit that
works on Thursdays is reminded and followed up on Thursdays, a move to a unit on the other calendar counts
the steps still ahead again on it, and an event that names no calendar (or one followup does not know)
counts on the standard one. SQLite, manual clock; dates counted by hand (Friday off; Thursday off only on
`iran-standard`; Wed 6 Jan, Sun 24 Jan and Thu 11 Feb 2027 are holidays)."""

import logging
from datetime import timedelta

from hub_followup.firing import TimerPoller
from hub_followup.ladder import pause_clock, resume_clock
from hub_followup.models import Ladder
from hub_shared.calendar import STANDARD, THURSDAY_WORKING, Calendars, WorkingCalendar
from hub_shared.events import AnswerOutcome, CaseAnswered, CaseForwarded, CaseReopened
from hub_shared.jalali import as_utc
from hub_shared.testing import deliver

from .test_ladder import (DEADLINE, KASHAN, ROUTED_AT, WHOLE_LADDER, ManualClock, at_tehran, followup, routed, run_until,
                          steps, timers)

KASHAN_COOPERATIVES = "labour/isfahan/kashan/cooperatives"
THURSDAY_LADDER = [  # the deadline is Sat 9 Jan 2027, as in WHOLE_LADDER; iran-standard's dates in the comments
    ("reminder-5", "2027-01-02"),  # Wed 30 Dec
    ("reminder-1", "2027-01-07"),  # a Thursday; Tue 5 Jan
    ("sla-breached", "2027-01-09"), ("follow-up-1", "2027-01-09"),
    ("follow-up-2", "2027-01-12"),
    ("follow-up-3 with notice", "2027-01-16"),  # Thu 14 counts; Sun 17
    ("escalation-1 to labour/isfahan/performance-office", "2027-01-21"),  # a Thursday; Mon 25
    ("escalation-2 to labour/performance-office", "2027-01-28"),  # a Thursday; Mon 1 Feb
    ("repeat-1", "2027-02-03"), ("repeat-2", "2027-02-09"), ("repeat-3", "2027-02-16"),  # Thu 11 Feb is a holiday
]


def forwarded(case, to_unit: str, calendar: str | None, at) -> CaseForwarded:
    return CaseForwarded(case_id=case.case_id, tracking_code=case.tracking_code, from_unit=case.unit_id, unit_id=to_unit,
                         unit_name="واحد", reason="محل وقوع", by="manager-1", forwarded_at=at, calendar=calendar)


async def ladder_of(runtime, case) -> Ladder:
    async with runtime.sessions() as session:
        return await session.get(Ladder, case.case_id)


async def test_a_unit_that_works_on_thursdays_is_reminded_and_followed_up_on_thursdays(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed(calendar=THURSDAY_WORKING)
    await deliver(runtime, case)
    assert (await ladder_of(runtime, case)).calendar == THURSDAY_WORKING
    await run_until(runtime, TimerPoller(runtime, clock, Calendars.of_week()), clock, at_tehran("2027-02-20"))
    assert await steps(runtime) == THURSDAY_LADDER
    assert WHOLE_LADDER[:len(THURSDAY_LADDER)] != THURSDAY_LADDER


async def test_a_move_to_a_unit_on_the_other_calendar_counts_the_steps_ahead_again(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed(calendar=STANDARD)
    poller = TimerPoller(runtime, clock, Calendars.of_week())
    await deliver(runtime, case)
    assert [(step, due) for step, _, _, due in await timers(runtime, case.case_id)] == [
        ("reminder-5", "2026-12-30"), ("reminder-1", "2027-01-05"), ("answer_deadline", "2027-01-09")]

    await deliver(runtime, forwarded(case, KASHAN_COOPERATIVES, THURSDAY_WORKING, clock.now()))
    assert [(step, unit, due) for step, _, unit, due in await timers(runtime, case.case_id)] == [
        ("reminder-5", KASHAN_COOPERATIVES, "2027-01-02"), ("reminder-1", KASHAN_COOPERATIVES, "2027-01-07"),
        ("answer_deadline", KASHAN_COOPERATIVES, "2027-01-09")]  # the deadline itself never moves
    assert (await ladder_of(runtime, case)).calendar == THURSDAY_WORKING

    await run_until(runtime, poller, clock, at_tehran("2027-01-13"))  # follow-up-2 fired; follow-up-3 waits for Sat 16
    assert ("follow-up-3", "pending", "2027-01-16") in [(s, status, due) for s, status, _, due in await timers(runtime, case.case_id)]
    await deliver(runtime, forwarded(case, KASHAN, STANDARD, clock.now()))  # back to a unit off on Thursdays
    assert ("follow-up-3", "pending", "2027-01-17") in [(s, status, due) for s, status, _, due in await timers(runtime, case.case_id)]

    await run_until(runtime, poller, clock, at_tehran("2027-02-25"))
    assert await steps(runtime) == THURSDAY_LADDER[:5] + WHOLE_LADDER[5:]


async def test_a_recount_after_a_pause_keeps_the_time_the_clock_stood_still(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed(calendar=STANDARD)
    await deliver(runtime, case)
    async with runtime.sessions() as session, session.begin():
        assert await pause_clock(session, case.case_id, at_tehran("2026-12-20"))
    async with runtime.sessions() as session, session.begin():
        await resume_clock(session, case.case_id, at_tehran("2026-12-30"))  # ten days later: the deadline is Tue 19 Jan
    await deliver(runtime, forwarded(case, KASHAN_COOPERATIVES, THURSDAY_WORKING, clock.now()))
    assert [(step, due) for step, _, _, due in await timers(runtime, case.case_id)] == [
        ("reminder-5", "2027-01-13"), ("reminder-1", "2027-01-18"), ("answer_deadline", "2027-01-19")]


async def test_a_reopened_case_gets_its_fresh_deadline_on_its_units_calendar(tmp_path) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime, case = followup(tmp_path, clock), routed(calendar=THURSDAY_WORKING)
    common = {"case_id": case.case_id, "tracking_code": case.tracking_code}
    await deliver(runtime, case, CaseAnswered(**common, unit_id=KASHAN, outcome=AnswerOutcome.not_upheld, answer_fa="پاسخ",
                                              legal_grounds="ماده ۱", answered_at=clock.now()))
    clock.at = at_tehran("2027-03-06")  # a Saturday
    await deliver(runtime, CaseReopened(**common, reopenings=1, reopened_at=clock.now()))
    expected = WorkingCalendar(thursday_off=False).deadline(clock.now(), 30)
    assert as_utc((await ladder_of(runtime, case)).deadline_at) == expected < WorkingCalendar().deadline(clock.now(), 30)


async def test_a_case_routed_without_a_calendar_or_with_an_unknown_one_counts_on_the_standard_one(tmp_path, caplog) -> None:
    clock = ManualClock(ROUTED_AT)
    runtime = followup(tmp_path, clock)
    older, unknown, again = routed(), routed(calendar="iran-friday-working"), routed(calendar="iran-friday-working")
    with caplog.at_level(logging.WARNING, logger="hub_shared.calendar"):
        await deliver(runtime, older, unknown, again)
    warned = [r for r in caplog.records if "unknown working calendar 'iran-friday-working'" in r.getMessage()]
    assert len(warned) == 1, "warned once, not once per case"
    due = [[(step, day) for step, _, _, day in await timers(runtime, case.case_id)] for case in (older, unknown, again)]
    assert due[0] == due[1] == due[2] == [("reminder-5", "2026-12-30"), ("reminder-1", "2027-01-05"), ("answer_deadline", "2027-01-09")]
    assert (await ladder_of(runtime, older)).calendar is None
    await run_until(runtime, TimerPoller(runtime, clock, Calendars.of_week()), clock, DEADLINE + timedelta(days=4))
    assert sorted(await steps(runtime)) == sorted(WHOLE_LADDER[:5] * 3)
