"""Follow-up's consumer: a routed (or reopened) case gets a ladder of durable timers, counted on the working
calendar of its unit; a move takes them to the new unit (and counts them again on its calendar, if another);
an answer, archive, return or rejection cancels them. The poller (`firing`) fires them."""

import logging

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.consumer import preload, preloaded
from hub_shared.pending import add_row

from hub_followup.clock import Clock
from hub_followup.ladder import WAITING, agency_of, first_steps, policies, recount, timer_row
from hub_followup.models import Ladder, Timer, TimerStatus
from hub_shared.calendar import Calendars
from hub_shared.envelope import Envelope
from hub_shared.events import CaseForwarded, CaseReopened, CaseRouted, CaseTransferred, DeadlineScheduled
from hub_shared.jalali import as_utc
from hub_shared.service import Runtime

log = logging.getLogger(__name__)
LADDERS = "followup.ladders"


async def load_ladders(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """The ladders of a batch's cases, in one query (`Subscription.prepare`)."""
    await preload(session, LADDERS, Ladder, Ladder.case_id, {envelope.data.case_id for envelope in envelopes})


async def _ladder(session: AsyncSession, case_id) -> Ladder | None:
    ladders = preloaded(session, LADDERS)
    return ladders.get(case_id) if ladders is not None else await session.get(Ladder, case_id)


class DeadlineKeeper:
    def __init__(self, runtime: Runtime, clock: Clock, calendars: Calendars) -> None:
        self._runtime, self._clock, self._calendars = runtime, clock, calendars

    async def on_routed(self, session: AsyncSession, envelope: Envelope) -> None:
        """A new ladder; a case routed again (after a return) starts over with the new unit and deadline."""
        case: CaseRouted = envelope.data
        ladder = await _ladder(session, case.case_id)
        first = ladder is None  # every case with timers has a ladder (migration 0003): nothing of it waits yet
        if first:
            ladder = Ladder(case_id=case.case_id, tracking_code=case.tracking_code, agency=agency_of(case.unit_id),
                            unit_id=case.unit_id, deadline_at=as_utc(case.deadline_at), number=0)
            if (ladders := preloaded(session, LADDERS)) is not None:
                ladders[case.case_id] = ladder
        ladder.unit_id, ladder.agency, ladder.calendar = case.unit_id, agency_of(case.unit_id), case.calendar
        ladder.confidential, ladder.about_employee = case.confidential, case.about_employee
        await self._start(session, ladder, as_utc(case.deadline_at), first=first)

    async def on_reopened(self, session: AsyncSession, envelope: Envelope) -> None:
        """The citizen objected to the answer: a fresh ladder with the policy's deadline for reopened cases."""
        event: CaseReopened = envelope.data
        ladder = await _ladder(session, event.case_id)
        if ladder is None:
            log.warning("reopened case has no ladder here (routed before follow-up kept ladders); nothing to follow up")
            return
        working_days = policies().of(ladder.agency).reopened_working_days
        days = self._calendars.named(ladder.calendar)
        await self._start(session, ladder, days.deadline(event.reopened_at, working_days))

    async def on_moved(self, session: AsyncSession, envelope: Envelope) -> None:
        """Transferred or forwarded: the case's waiting steps follow it to the new unit. Their due times stay,
        unless the new unit works on another calendar: then each is counted again on it, the same number of
        working days from the deadline or the step before (the deadline itself stays)."""
        event: CaseTransferred | CaseForwarded = envelope.data
        await session.execute(update(Timer).where(col(Timer.case_id) == event.case_id, col(Timer.status).in_(WAITING))
                              .values(unit_id=event.unit_id))
        ladder = await _ladder(session, event.case_id)
        if ladder is None:
            log.warning("moved case has no ladder here (routed before follow-up kept ladders); its timers moved to %s",
                        event.unit_id)
            return
        before, after = self._calendars.named(ladder.calendar), self._calendars.named(event.calendar)
        ladder.unit_id, ladder.agency, ladder.calendar = event.unit_id, agency_of(event.unit_id), event.calendar
        session.add(ladder)
        moved = await recount(session, ladder, after) if after is not before else 0
        log.info("timers of the case moved to %s (calendar %s; %d due times counted again)", event.unit_id,
                 event.calendar or "standard", moved)

    async def on_closed(self, session: AsyncSession, envelope: Envelope) -> None:
        """Answered, archived, returned or rejected: nothing is due any more."""
        await _cancel_waiting_steps(session, envelope.data.case_id)
        await session.execute(update(Ladder).where(col(Ladder.case_id) == envelope.data.case_id)
                              .values(closed_at=self._clock.now(), paused_at=None))
        log.info("timers of the case cancelled (%s)", envelope.type)

    async def _start(self, session: AsyncSession, ladder: Ladder, deadline_at, first: bool = False) -> None:
        now = self._clock.now()
        if not first:
            await _cancel_waiting_steps(session, ladder.case_id)
        ladder.number, ladder.deadline_at, ladder.paused_at, ladder.closed_at = ladder.number + 1, deadline_at, None, None
        session.add(ladder)
        days = self._calendars.named(ladder.calendar)
        steps = first_steps(policies().of(ladder.agency), days, deadline_at, ladder.unit_id, now)
        for step in steps:
            add_row(session, Timer, timer_row(ladder, step, now))
        self._runtime.stage(session, DeadlineScheduled(case_id=ladder.case_id, tracking_code=ladder.tracking_code,
                                                       unit_id=ladder.unit_id, due_at=deadline_at, scheduled_at=now))
        log.info("ladder %d set for %s: deadline %s, %d steps waiting", ladder.number, ladder.unit_id,
                 deadline_at.isoformat(), len(steps))


async def _cancel_waiting_steps(session: AsyncSession, case_id) -> None:
    """Nothing of the case is due any more, failed steps included (no retry could make them due again)."""
    await session.execute(update(Timer).where(col(Timer.case_id) == case_id, col(Timer.status).in_(WAITING))
                          .values(status=TimerStatus.cancelled.value, lease_owner=None, lease_until=None))
