"""Sending queued messages: a background job claims due rows, decrypts each contact, sends, and records
the outcome; a failure waits longer each time (exponential, with jitter) and ends as `failed` after
`max_attempts`, or at once when the sender says retrying cannot help.

Claiming is a short transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas take disjoint rows)
that moves the rows' `next_attempt_at` past the send; nothing holds a lock or a SQLite write while a
gateway is slow, so registration never waits on a sender. A process that dies mid-send leaves its rows
due again after the claim expires: a message may then go twice, never zero times.

Between rounds the job sleeps until the earliest pending message is due; a commit in this process that
queues or changes one wakes it at once (`hub_shared.wakeup`), and a safety poll finds the rest.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

from opentelemetry import trace
from sqlalchemy import bindparam, func, update
from sqlmodel import col, select
from tenacity import RetryCallState, wait_exponential_jitter

from hub_intake.models import Complainant, ciphertext_column
from hub_intake.notify.models import MAX_ERROR_CHARS, Channel, Notification, Status
from hub_intake.notify.senders import OutgoingMessage, PermanentFailure, SendFailure, Sender
from hub_intake.notify.settings import NotifySettings
from hub_intake.notify.templates import render
from hub_shared.db import SessionFactory
from hub_shared.events import NotificationTemplate
from hub_shared.jalali import as_utc
from hub_shared.logs import case_context
from hub_shared.vault import PersonalDataVault, UndecryptableError
from hub_shared.wakeup import SETTLE_SECONDS, Alarm

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hub.notify")
Contacts = Mapping[UUID, Mapping[str, bytes | None]]


class Dispatcher:
    def __init__(self, sessions: SessionFactory, senders: Mapping[Channel, Sender], settings: NotifySettings,
                 vault: PersonalDataVault, follow_up_phone: str) -> None:
        self._sessions = sessions
        self._senders = senders
        self._settings = settings
        self._vault = vault
        self._follow_up_phone = follow_up_phone
        self._wait = wait_exponential_jitter(initial=settings.retry_initial_seconds, max=settings.retry_max_seconds,
                                             jitter=settings.retry_initial_seconds)
        self._alarm = Alarm(SETTLE_SECONDS)

    def wake(self) -> None:
        """A message was queued or changed in this process: look at once rather than at the next due time."""
        self._alarm.ring()

    async def send_notifications(self) -> None:
        """The background job: send what is due, then sleep until the next message is due (or one is queued)."""
        while True:
            try:
                if await self.send_due() >= self._settings.batch_size:
                    continue
                self._alarm.clear()  # after its own commits, before the look: a message queued from now on rings it
                wait = await self.seconds_to_next_due()
            except Exception:  # the database may be away; the rows wait in the queue
                log.exception("sending notifications failed; trying again in %.0f s", self._settings.poll_seconds)
                wait = self._settings.poll_seconds
            await self._alarm.sleep(min(wait, self._settings.poll_seconds))

    async def seconds_to_next_due(self) -> float:
        """Until the earliest pending message is due: a retry's back-off, or a claim by another replica ending."""
        async with self._sessions() as session:
            first = (await session.exec(select(func.min(Notification.next_attempt_at))
                                        .where(Notification.status == Status.pending.value))).one()
        if first is None:
            return self._settings.poll_seconds
        return max(0.0, (as_utc(first) - datetime.now(UTC)).total_seconds())

    async def send_due(self, now: datetime | None = None) -> int:
        """Send one batch of due messages; return how many were tried."""
        now = now or datetime.now(UTC)
        claimed = await self._claim(now)
        if claimed:
            contacts = await self._contacts({notification.case_id for notification in claimed})
            outcomes = await asyncio.gather(*(self._deliver(notification, contacts.get(notification.case_id), now)
                                              for notification in claimed))
            try:
                await self._record(list(zip(claimed, outcomes)))
            except Exception as error:  # the rows stay claimed and are tried again when the claim expires
                log.error("recording %d notifications' outcomes failed: %s", len(claimed), type(error).__name__)
        return len(claimed)

    async def _claim(self, now: datetime) -> list[Notification]:
        async with self._sessions() as session, session.begin():
            due = list((await session.exec(
                select(Notification).where(Notification.status == Status.pending.value, col(Notification.next_attempt_at) <= now)
                .order_by(col(Notification.next_attempt_at)).limit(self._settings.batch_size).with_for_update(skip_locked=True)
            )).all())
            if due:
                await session.execute(update(Notification).where(col(Notification.id).in_([row.id for row in due]))
                                      .values(next_attempt_at=now + timedelta(seconds=self._settings.claim_seconds)))
        return due

    async def _contacts(self, case_ids: set[UUID]) -> Contacts:
        """The sealed phone and e-mail of each case's complainant; nothing else of the row is read."""
        columns = [ciphertext_column(channel.contact_field) for channel in Channel]
        async with self._sessions() as session:
            rows = (await session.exec(select(Complainant.case_id, *(getattr(Complainant, column) for column in columns))
                                       .where(col(Complainant.case_id).in_(case_ids)))).all()
        return {row[0]: dict(zip(columns, row[1:])) for row in rows}

    async def _deliver(self, notification: Notification, sealed: Mapping[str, bytes | None] | None, now: datetime) -> dict:
        """Hand one message to its sender; the columns to record of how it went."""
        channel = Channel(notification.channel)
        with case_context(str(notification.case_id)), tracer.start_as_current_span("notification send") as span:
            span.set_attributes({"hub.notification.id": notification.id, "hub.notification.channel": channel.value,
                                 "hub.notification.template": notification.template, "hub.case_id": str(notification.case_id)})
            contact = None
            try:
                contact = self._contact(notification, channel, sealed)
                sender = self._senders.get(channel)
                if sender is None:
                    raise PermanentFailure(f"no sender is configured for {channel.value}")
                await asyncio.wait_for(sender.send(self._message(notification, channel, contact)), self._settings.timeout_seconds)
            except Exception as exc:
                span.set_attribute("hub.notification.error", type(exc).__name__)
                return self._failed(notification, _safe_error(exc, contact), permanent=isinstance(exc, PermanentFailure), now=now)
            log.info("notification %s sent via %s", notification.id, notification.channel)
            return {"status": Status.sent.value, "attempts": notification.attempts + 1, "sent_at": datetime.now(UTC),
                    "last_error": None}

    def _contact(self, notification: Notification, channel: Channel, sealed: Mapping[str, bytes | None] | None) -> str:
        column = ciphertext_column(channel.contact_field)
        if sealed is None or sealed.get(column) is None:
            raise PermanentFailure(f"the complainant has no {channel.contact_field}")
        return self._vault.decrypt(sealed[column], column=column, case_id=notification.case_id)

    def _message(self, notification: Notification, channel: Channel, to: str) -> OutgoingMessage:
        rendered = render(NotificationTemplate(notification.template), notification.params, self._follow_up_phone)
        return OutgoingMessage(notification_id=notification.id, case_id=notification.case_id, channel=channel, to=to,
                               subject=rendered.subject, text=rendered.sms if channel is Channel.sms else rendered.email)

    def _failed(self, notification: Notification, error: str, permanent: bool, now: datetime) -> dict:
        attempts = notification.attempts + 1
        if permanent or attempts >= self._settings.max_attempts:
            log.error("notification %s via %s failed after %d attempts: %s", notification.id, notification.channel, attempts, error)
            return {"status": Status.failed.value, "attempts": attempts, "last_error": error}
        retry_at = now + self.retry_delay(attempts)
        log.warning("notification %s via %s not sent (%s); attempt %d of %d at %s", notification.id, notification.channel,
                    error, attempts + 1, self._settings.max_attempts, retry_at.isoformat(timespec="seconds"))
        return {"attempts": attempts, "next_attempt_at": retry_at, "last_error": error}

    def retry_delay(self, attempts: int) -> timedelta:
        """The wait after `attempts` failures: initial × 2^(attempts-1) plus jitter, at most the maximum."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = attempts
        return timedelta(seconds=self._wait(state))

    async def _record(self, outcomes: list[tuple[Notification, dict]]) -> None:
        """Each message's outcome, in one transaction: one statement for each kind of outcome."""
        kinds: dict[tuple[str, ...], list[dict]] = {}
        for notification, values in outcomes:
            kinds.setdefault(tuple(sorted(values)), []).append({**{f"v_{k}": v for k, v in values.items()}, "b_id": notification.id})
        table = Notification.__table__
        async with self._sessions() as session, session.begin():
            for columns, rows in kinds.items():
                await session.execute(update(table).where(table.c.id == bindparam("b_id"), table.c.status == Status.pending.value)
                                      .values({column: bindparam(f"v_{column}") for column in columns}), rows)


def _safe_error(exc: Exception, contact: str | None) -> str:
    """A short reason to store and log: our own failure texts, else only the exception's type, and never the contact."""
    text = str(exc) if isinstance(exc, (SendFailure, UndecryptableError)) else type(exc).__name__
    if contact:
        text = text.replace(contact, "<contact>")
    return text[:MAX_ERROR_CHARS]
