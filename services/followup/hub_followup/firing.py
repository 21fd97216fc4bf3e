"""The poller: fires due ladder steps, each exactly once, with any number of replicas.

1. **Claim** (a short transaction): due, pending timers whose lease is free or expired are leased to this
   replica (`lease_owner`, `lease_until`, `attempts + 1`). PostgreSQL picks them with `FOR UPDATE SKIP
   LOCKED`, so replicas claim different timers without waiting on each other.
2. **Fire** (one transaction per timer): `UPDATE ... SET status = 'fired' WHERE id = ? AND status = 'pending'
   AND lease_owner = <this replica>`; only if that changed one row are the step's events staged in the
   outbox and the next step's timer added, in the same transaction. A replica that died after claiming
   leaves a lease that expires; another replica claims the timer, and the dead one's late fire (should it
   come back) changes no row. A paused, cancelled or already fired timer changes no row either, and a step
   that a fire added while the case was being closed, paused or given a new ladder is, when due, cancelled
   or paused instead of fired.
3. **Fail** (a step whose firing raises): the error (class and first line) is kept in `last_error` and the
   step is left alone for `retry_seconds`, doubling after each failure (at most an hour) by moving its
   `lease_until`, never its `due_at`, from which the next step is counted. On the `max_timer_attempts`-th
   lease that does not fire it, the step is set `failed`, logged once at ERROR and leased no more; its
   case's ladder waits there until an operator, having fixed the cause, calls `retry_failed`. A lease that
   ends with nothing recorded (the replica stopped while firing) counts as an attempt too.

Between rounds the poller sleeps until the first pending step may be claimed (its due time, or the end of
a lease on a due step), and a commit in this process that sets or changes a step wakes it at once
(`hub_shared.wakeup`). Every replica does the same, so a step is due on all of them at once, as before. A
safety poll (`HUB_FOLLOWUP_POLL_SECONDS`) finds steps set by other processes.
"""

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import exists, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_followup.clock import Clock
from hub_followup.ladder import climb, policies, timer_for
from hub_followup.models import Ladder, Timer, TimerStatus
from hub_shared.calendar import Calendars
from hub_shared.jalali import as_utc
from hub_shared.logs import case_context
from hub_shared.service import Runtime
from hub_shared.wakeup import SETTLE_SECONDS, Alarm

log = logging.getLogger(__name__)
LONGEST_BACKOFF = timedelta(hours=1)
NO_OUTCOME = "LeaseExpired: the last lease ended without firing or recording an error"


class PollerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_FOLLOWUP_", env_file=".env", extra="ignore")

    poll_seconds: float = Field(30.0, gt=0, le=300, description=(
        "The poller's safety poll: it sleeps until the next step is due, or until a commit in this process sets or "
        "changes a step; this finds steps set by other processes (`retry-failed`, a replica that stopped)"))
    lease_seconds: float = Field(60.0, gt=0, description="How long a claimed step is this replica's before another may take it")
    claim_batch: int = Field(100, ge=1, le=5000, description="Due steps claimed per transaction")
    max_timer_attempts: int = Field(5, ge=1, description="Leases of a step that do not fire it before it is set `failed`")
    retry_seconds: float = Field(60.0, gt=0, le=3600, description="Wait after a step's first failure to fire; doubles after each next one, up to an hour")


class TimerPoller:
    def __init__(self, runtime: Runtime, clock: Clock, calendars: Calendars, settings: PollerSettings | None = None,
                 owner: str | None = None) -> None:
        self._runtime, self._clock, self._calendars = runtime, clock, calendars
        self._settings = settings or PollerSettings()
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._alarm = Alarm(SETTLE_SECONDS)
        runtime.wake_on_commit(Timer.__tablename__, self._alarm.ring)

    async def poll(self) -> None:
        """The background job: fire what is due, then sleep until the next step is due (or a commit sets one)."""
        while True:
            try:
                if await self.fire_due() >= self._settings.claim_batch:
                    continue
                self._alarm.clear()  # after its own commits, before the look: a step set from now on rings it
                wait = await self.seconds_to_next_step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the ladder poller failed; it tries again after %ss", self._settings.poll_seconds)
                wait = self._settings.poll_seconds
            await self._alarm.sleep(min(wait, self._settings.poll_seconds))

    async def seconds_to_next_step(self) -> float:
        """How long until a pending step may be claimed: now if one is due and free, else when the first lease
        on a due step ends (another replica firing it, or a failed step backing off) or the next step falls due."""
        now = self._clock.now()
        pending, due = col(Timer.status) == TimerStatus.pending.value, col(Timer.due_at) <= now
        free = or_(col(Timer.lease_until).is_(None), col(Timer.lease_until) < now)
        async with self._runtime.sessions() as session:
            claimable, lease_ends, next_due = (await session.execute(select(
                exists().where(pending, due, free),
                select(func.min(Timer.lease_until)).where(pending, due, col(Timer.lease_until) >= now).scalar_subquery(),
                select(func.min(Timer.due_at)).where(pending, col(Timer.due_at) > now).scalar_subquery(),
            ))).one()
        if claimable:
            return 0.0
        times = [as_utc(moment) for moment in (lease_ends, next_due) if moment is not None]
        return max(0.0, (min(times) - now).total_seconds()) if times else self._settings.poll_seconds

    async def fire_due(self) -> int:
        """Claim one batch of due steps and fire them; return how many fired."""
        fired = 0
        for timer_id in await self.claim():
            fired += await self.fire(timer_id)
        if fired:
            self._runtime.committed()
        return fired

    async def claim(self) -> list[int]:
        """Lease up to a batch of due steps to this replica; their ids, the earliest due first. A step whose
        allowed leases all ended without an outcome is set `failed` instead."""
        now = self._clock.now()
        free = (col(Timer.status) == TimerStatus.pending.value, col(Timer.due_at) <= now,
                or_(col(Timer.lease_until).is_(None), col(Timer.lease_until) < now))
        due = (select(Timer.id).where(*free).order_by(col(Timer.due_at), col(Timer.id))
               .limit(self._settings.claim_batch).with_for_update(skip_locked=True))
        async with self._runtime.sessions() as session, session.begin():
            claimed = await session.execute(
                update(Timer).where(col(Timer.id).in_(due), *free)
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=self._settings.lease_seconds),
                        attempts=col(Timer.attempts) + 1)
                .returning(Timer.id, Timer.due_at, Timer.attempts, Timer.case_id, Timer.step))
            leased = sorted(claimed.all(), key=lambda row: (as_utc(row.due_at), row.id))
            spent = [row for row in leased if row.attempts > self._settings.max_timer_attempts]
            if spent:
                await _give_up(session, [row.id for row in spent])
        for row in spent:
            with case_context(str(row.case_id)):
                log.error("ladder step %s failed for good after %d attempts: %s; it is leased no more: find out why "
                          "its replica stopped, then retry it", row.step, row.attempts - 1, NO_OUTCOME)
        return [row.id for row in leased if row not in spent]

    async def fire(self, timer_id: int) -> bool:
        """Fire one claimed step; False when it is no longer this replica's to fire, or firing failed."""
        try:
            return await self._fire(timer_id)
        except Exception as error:
            try:
                await self._failed(timer_id, error)
            except Exception:
                log.exception("ladder step %s failed to fire and the failure was not recorded; it is tried again "
                              "when its lease expires", timer_id)
            return False

    async def _failed(self, timer_id: int, error: Exception) -> None:
        """Record why the step did not fire; back off before its next lease, or, after the last, give up."""
        line = str(error).partition("\n")[0]
        async with self._runtime.sessions() as session, session.begin():
            timer = await session.get(Timer, timer_id, with_for_update=True)
            if timer is None or timer.status != TimerStatus.pending.value or timer.lease_owner != self.owner:
                return
            timer.last_error = f"{type(error).__name__}: {line}"[:500] if line else type(error).__name__
            last, wait = timer.attempts >= self._settings.max_timer_attempts, self.backoff(timer.attempts)
            if last:
                timer.status, timer.lease_owner, timer.lease_until = TimerStatus.failed.value, None, None
            else:
                timer.lease_until = self._clock.now() + wait
        with case_context(str(timer.case_id)):
            log.warning("ladder step %s failed to fire (attempt %d of %d); %s", timer.step, timer.attempts,
                        self._settings.max_timer_attempts, "it gives up" if last else f"it is tried again in {wait}",
                        exc_info=error)
            if last:
                log.error("ladder step %s failed for good after %d attempts (%s); it is leased no more: fix the cause, "
                          "then retry it", timer.step, timer.attempts, type(error).__name__)

    def backoff(self, failures: int) -> timedelta:
        """How long a step that has failed to fire `failures` times waits before its next lease."""
        return min(timedelta(seconds=self._settings.retry_seconds) * 2 ** min(failures - 1, 12), LONGEST_BACKOFF)

    async def _fire(self, timer_id: int) -> bool:
        now = self._clock.now()
        async with self._runtime.sessions() as session, session.begin():
            mine = await session.execute(
                update(Timer).where(col(Timer.id) == timer_id, col(Timer.status) == TimerStatus.pending.value,
                                    col(Timer.lease_owner) == self.owner)
                .values(status=TimerStatus.fired.value, fired_at=now, lease_until=None))
            if mine.rowcount != 1:
                return False
            timer = await session.get(Timer, timer_id)
            ladder = await session.get(Ladder, timer.case_id)
            if ladder is None or ladder.number != timer.ladder or ladder.closed_at is not None:
                timer.status = TimerStatus.cancelled.value  # its ladder ended while the step was being set
                return False
            if ladder.paused_at is not None:
                timer.status, timer.fired_at = TimerStatus.paused.value, None  # set while the clock was stopping
                return False
            with case_context(str(timer.case_id)):
                days = self._calendars.named(ladder.calendar)
                events, after = climb(ladder, timer, policies().of(ladder.agency), days, now)
                for event in events:
                    self._runtime.stage(session, event)
                if after is not None:
                    session.add(timer_for(ladder, after, now))
                log.info("ladder step %s fired for %s (%d events); next: %s", timer.step, timer.unit_id, len(events),
                         after.name if after else "none")
        return True


async def _give_up(session: AsyncSession, timer_ids: list[int]) -> None:
    """Steps whose every allowed lease ended without an outcome (their replica stopped while firing them)."""
    await session.execute(update(Timer).where(col(Timer.id).in_(timer_ids))
                          .values(status=TimerStatus.failed.value, lease_owner=None, lease_until=None, last_error=NO_OUTCOME,
                                  attempts=col(Timer.attempts) - 1))  # the lease just taken tries nothing


async def retry_failed(session: AsyncSession, case_id: uuid.UUID) -> int:
    """An operator's retry, once the cause is fixed: the case's failed steps are due again with their attempts
    counted afresh (their last error stays, for the record); how many there were. A step whose case
    has closed meanwhile is then cancelled rather than fired."""
    retried = await session.execute(
        update(Timer).where(col(Timer.case_id) == case_id, col(Timer.status) == TimerStatus.failed.value)
        .values(status=TimerStatus.pending.value, attempts=0, lease_owner=None, lease_until=None))
    return retried.rowcount
