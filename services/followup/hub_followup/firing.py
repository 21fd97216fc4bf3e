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
"""

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import or_, update
from sqlmodel import col, select

from hub_followup.clock import Clock, WorkingDays
from hub_followup.ladder import climb, policies, timer_for
from hub_followup.models import Ladder, Timer, TimerStatus
from hub_shared.jalali import as_utc
from hub_shared.logs import case_context
from hub_shared.service import Runtime

log = logging.getLogger(__name__)


class PollerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_FOLLOWUP_", env_file=".env", extra="ignore")

    poll_seconds: float = Field(1.0, gt=0, le=300, description="How often the poller looks for due ladder steps")
    lease_seconds: float = Field(60.0, gt=0, description="How long a claimed step is this replica's before another may take it")
    claim_batch: int = Field(100, ge=1, le=5000, description="Due steps claimed per transaction")


class TimerPoller:
    def __init__(self, runtime: Runtime, clock: Clock, days: WorkingDays, settings: PollerSettings | None = None,
                 owner: str | None = None) -> None:
        self._runtime, self._clock, self._days = runtime, clock, days
        self._settings = settings or PollerSettings()
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def poll(self) -> None:
        """The background job: fire what is due, then wait for the next round."""
        while True:
            try:
                fired = await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the ladder poller failed; it tries again after %ss", self._settings.poll_seconds)
                fired = 0
            if fired < self._settings.claim_batch:
                await asyncio.sleep(self._settings.poll_seconds)

    async def fire_due(self) -> int:
        """Claim one batch of due steps and fire them; return how many fired."""
        fired = 0
        for timer_id in await self.claim():
            fired += await self.fire(timer_id)
        if fired:
            self._runtime.committed()
        return fired

    async def claim(self) -> list[int]:
        """Lease up to a batch of due steps to this replica; their ids, the earliest due first."""
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
                .returning(Timer.id, Timer.due_at))
            return [timer_id for timer_id, _ in sorted(claimed.all(), key=lambda row: (as_utc(row[1]), row[0]))]

    async def fire(self, timer_id: int) -> bool:
        """Fire one claimed step; False when it is no longer this replica's to fire, or firing failed."""
        try:
            return await self._fire(timer_id)
        except Exception:
            log.exception("ladder step %s failed to fire; it is tried again when its lease expires", timer_id)
            return False

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
                events, after = climb(ladder, timer, policies().of(ladder.agency), self._days, now)
                for event in events:
                    self._runtime.stage(session, event)
                if after is not None:
                    session.add(timer_for(ladder, after, now))
                log.info("ladder step %s fired for %s (%d events); next: %s", timer.step, timer.unit_id, len(events),
                         after.name if after else "none")
        return True
