"""Outbound delivery: the persistent queue (`gateway_delivery`) drained in order per external case.

Each round takes, for every external case, only its oldest pending update (a case's next update waits
for the previous one) whose time has come, and pushes it through the remote's adapter: a few quick
attempts (tenacity, exponential back-off with jitter); if they all fail the row waits for a later round,
further off each time (the same back-off, by the row's attempt count). An open circuit skips the
remote entirely. A final refusal (4xx) marks the row `refused` and lets the case move on. Rows survive
restarts: a crash after the push but before the mark sends the update again with the same `update_id`,
which the remote acknowledges as a repeat. With several replicas one delivers at a time (a PostgreSQL
advisory lock held for the round), so two never push the same case's updates side by side, out of order.

Between rounds the job sleeps until the first case's next update may go; a commit in this process that
queues an update wakes it at once (`hub_shared.wakeup`), and a safety poll finds the rest. A replica that
finds the round taken looks again after a second, since the holder may have read the queue before its
update was queued.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from hub_gateway.breaker import CircuitOpen
from hub_gateway.contract import StatusUpdate
from hub_gateway.mapping import RemoteMapping
from hub_gateway.models import Delivery
from hub_gateway.remotes import Refused, Remote, Unavailable
from hub_gateway.settings import GatewaySettings
from hub_shared.db import SessionFactory, sole_worker
from hub_shared.jalali import as_utc
from hub_shared.wakeup import SETTLE_SECONDS, Alarm

log = logging.getLogger(__name__)
CONTENDED_RETRY_SECONDS = 1.0  # another replica holds the round, HTTP retries included: look again soon, not at once


class Deliverer:
    def __init__(self, sessions: SessionFactory, remotes: Mapping[str, Remote], mappings: Mapping[str, RemoteMapping],
                 settings: GatewaySettings) -> None:
        self._sessions = sessions
        self._remotes = remotes
        self._mappings = mappings
        self._settings = settings
        self._wait = wait_exponential_jitter(initial=settings.retry_initial_seconds, max=settings.retry_max_seconds)
        self._alarm = Alarm(SETTLE_SECONDS)
        self._contended = False  # the last round found another replica holding it

    def wake(self) -> None:
        """An update was queued or changed in this process: look at once rather than at the next due time."""
        self._alarm.ring()

    async def run(self) -> None:
        """The background job: a round, then sleep until the next update is due (or one is queued)."""
        while True:
            try:
                await self.deliver_due()
                self._alarm.clear()  # after its own commits, before the look: an update queued from now on rings it
                wait = CONTENDED_RETRY_SECONDS if self._contended else await self.seconds_to_next_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbound delivery round failed; trying again after a pause")
                wait = self._settings.delivery_poll_seconds
            await self._alarm.sleep(min(wait, self._settings.delivery_poll_seconds))

    async def deliver_due(self) -> int:
        """One round; return how many updates were delivered (0 when another replica holds the round)."""
        delivered = 0
        async with self._sessions() as session, session.begin():
            self._contended = not await sole_worker(session, "gateway:delivery")
            if self._contended:
                return 0
            now = datetime.now(UTC)
            for row in await self._heads():
                remote = self._remotes.get(row.remote)
                if remote is None or remote.breaker.state == "open" or as_utc(row.next_attempt_at) > now:
                    continue
                delivered += await self._deliver(remote, row)
        return delivered

    async def seconds_to_next_round(self) -> float:
        """Until the first case's next update may go: its retry back-off, or its remote's circuit letting a trial
        through. Updates behind an earlier one of their case wait for it; those of a remote not connected, forever."""
        now, due = datetime.now(UTC), []
        for row in await self._heads():
            remote = self._remotes.get(row.remote)
            if remote is not None:
                due.append(max(as_utc(row.next_attempt_at), now + timedelta(seconds=remote.breaker.seconds_to_trial())))
        return max(0.0, (min(due) - now).total_seconds()) if due else self._settings.delivery_poll_seconds

    async def _heads(self) -> list[Delivery]:
        """Each external case's oldest pending update."""
        async with self._sessions() as session:
            pending = (await session.exec(select(Delivery).where(Delivery.state == "pending").order_by(col(Delivery.sequence)))).all()
        heads = {}
        for row in pending:
            heads.setdefault((row.remote, row.external_id), row)
        return list(heads.values())

    async def _deliver(self, remote: Remote, row: Delivery) -> int:
        update = self.update_of(row)
        retrying = AsyncRetrying(stop=stop_after_attempt(self._settings.retry_attempts), wait=self._wait,
                                 retry=retry_if_exception_type(Unavailable), reraise=True)
        tries = 0
        try:
            async for attempt in retrying:
                with attempt:
                    tries += 1
                    await remote.push_update(update)
        except Refused as refusal:
            await self._mark(row, tries, state="refused", error=str(refusal))
            log.error("update %s of %s:%s refused for good: %s", row.sequence, row.remote, row.external_id, refusal)
            return 0
        except (Unavailable, CircuitOpen) as failure:
            await self._mark(row, tries, error=str(failure))
            log.warning("update %s of %s:%s not delivered yet: %s", row.sequence, row.remote, row.external_id, failure)
            return 0
        await self._mark(row, tries, state="delivered")
        log.info("update %s (%s) of %s:%s delivered", row.sequence, row.status, row.remote, row.external_id)
        return 1

    def update_of(self, row: Delivery) -> StatusUpdate:
        mapping = self._mappings[row.remote]
        return StatusUpdate(update_id=row.update_id, sequence=row.sequence, external_id=row.external_id,
                            status=mapping.remote_status(row.status), **row.payload)

    async def _mark(self, row: Delivery, tries: int, state: str = "pending", error: str | None = None) -> None:
        async with self._sessions() as session, session.begin():
            stored = await session.get(Delivery, row.id)
            stored.attempts += tries
            stored.state, stored.last_error = state, (error or None) and error[:500]
            now = datetime.now(UTC)
            if state == "delivered":
                stored.delivered_at = now
            elif state == "pending":
                stored.next_attempt_at = now + timedelta(seconds=self.backoff(stored.attempts))

    def backoff(self, attempts: int) -> float:
        """Seconds until the next round for a row that has failed `attempts` times: exponential, jittered, capped."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = max(1, attempts)
        return self._wait(state)
