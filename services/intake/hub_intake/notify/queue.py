"""Putting messages in the queue, inside the transaction of the fact or request that causes them, so a
message is queued exactly when its fact commits, and never twice for one fact."""

import logging
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.consumer import preloaded

from hub_intake.models import Case, Complainant
from hub_intake.notify.models import Channel, Notification
from hub_intake.notify.templates import missing_params
from hub_shared.envelope import Envelope
from hub_shared.events import (CaseAnswered, CaseRegistered, CaseRejected, CaseReopened, CaseReturned, CaseRouted, CaseTransferred,
                               Event, NotificationRequested, NotificationTemplate)
from hub_shared.events.notifications import MAX_PARAM_CHARS, check_params
from hub_shared.jalali import to_jalali

log = logging.getLogger(__name__)
CONTACTS, QUEUED = "intake.contacts", "intake.queued"


async def enqueue(session: AsyncSession, case: Case, template: str, event_id: str, params: dict[str, str]) -> None:
    """Queue `template` for the citizen of `case`: by SMS, and by e-mail too when they gave an address.
    Nothing for anonymous reports. `event_id` names the cause (the fact's or request's event id); the
    same cause queues once. `params` must not hold personal data; the case number and tracking code are
    added here. Raises ValueError for an unknown template or missing or unsafe parameters."""
    if case.anonymous:
        return
    rows = notification_rows(case, template, event_id, params)  # validates before anything is asked
    has_email = await _has_email(session, case)
    if has_email is None:
        log.warning("case %s has no complainant row; %s not queued", case.case_id, rows[0]["template"])
        return
    if await _queued(session, case, NotificationTemplate(template), event_id):
        return
    for row in rows if has_email else rows[:1]:
        session.add(Notification(**row))
    if (queued := preloaded(session, QUEUED)) is not None:
        queued.add((case.case_id, rows[0]["template"], event_id))


async def preload_contacts(session: AsyncSession, case_ids: set, event_ids: set[str]) -> None:
    """For a consumer's batch: whether each case's citizen gave an e-mail address (None: no complainant row), and
    the messages its facts already queued, in a query each, so `enqueue` asks nothing more per fact."""
    contacts = await session.exec(select(Complainant.case_id, col(Complainant.email_ciphertext).is_not(None))
                                  .where(col(Complainant.case_id).in_(case_ids))) if case_ids else []
    session.info[CONTACTS] = {case_id: has_email for case_id, has_email in contacts}
    queued = await session.exec(select(Notification.case_id, Notification.template, Notification.event_id)
                                .where(col(Notification.case_id).in_(case_ids), col(Notification.event_id).in_(event_ids))
                                ) if case_ids and event_ids else []
    session.info[QUEUED] = {tuple(row) for row in queued}


async def _has_email(session: AsyncSession, case: Case) -> bool | None:
    if (contacts := preloaded(session, CONTACTS)) is not None:
        return contacts.get(case.case_id)
    return (await session.exec(select(col(Complainant.email_ciphertext).is_not(None))
                               .where(Complainant.case_id == case.case_id))).first()


def notification_rows(case: Case, template: str, event_id: str, params: dict[str, str]) -> list[dict]:
    """The queue rows of one message to the citizen of `case`: by SMS, then by e-mail (for those who gave an
    address). Raises ValueError for an unknown template or missing or unsafe parameters."""
    template = NotificationTemplate(template)
    values = {**_bounded(params), "case_number": case.case_number, "tracking_code": case.tracking_code}
    if missing := missing_params(template, values):
        raise ValueError(f"template {template.value} needs {', '.join(missing)}")
    now = datetime.now(UTC)
    return [{"case_id": case.case_id, "template": template.value, "event_id": event_id, "channel": channel.value,
             "params": values, "next_attempt_at": now, "created_at": now} for channel in (Channel.sms, Channel.email)]


def registered_rows(case: Case, event: CaseRegistered, has_email: bool) -> list[dict]:
    """The "your case is registered" rows of a case created in this transaction (none for an anonymous report)."""
    if case.anonymous:
        return []
    rows = notification_rows(case, NotificationTemplate.registered, str(case.case_id), _registered_params(event))
    return rows if has_email else rows[:1]


async def enqueue_for_fact(session: AsyncSession, case: Case, event: Event, event_id: str) -> None:
    """Queue what the citizen is told about this fact of their case, if anything."""
    match event:
        case CaseRegistered():
            await enqueue(session, case, NotificationTemplate.registered, event_id, _registered_params(event))
        case CaseRouted() | CaseTransferred():
            await enqueue(session, case, NotificationTemplate.referred, event_id,
                          {"unit_name": event.unit_name, "deadline_jalali": to_jalali(event.deadline_at)})
        case CaseReturned():
            await enqueue(session, case, NotificationTemplate.rejected, event_id,
                          {"reason_fa": event.reason_fa, "reason_en": event.reason_en})
        case CaseRejected():
            await enqueue(session, case, NotificationTemplate.rejected, event_id,
                          {"reason_fa": event.reason_fa, "reason_en": event.reason_en})
        case CaseAnswered():
            await enqueue(session, case, NotificationTemplate.answered, event_id, {})
        case CaseReopened():
            await enqueue(session, case, NotificationTemplate.reopened, event_id, {})


async def on_notification_requested(session: AsyncSession, envelope: Envelope) -> None:
    """Another service asks intake to tell a citizen something (`hub.notifications.v1`)."""
    request: NotificationRequested = envelope.data
    case = (await session.exec(select(Case).where(Case.case_id == request.case_id))).first()
    if case is None:
        log.warning("notification %s requested for a case intake does not hold; dropped", request.template.value)
        return
    if case.tracking_code != request.tracking_code:
        log.warning("notification %s requested with another case's tracking code; dropped", request.template.value)
        return
    await enqueue(session, case, request.template, envelope.id, dict(request.params))


async def _queued(session: AsyncSession, case: Case, template: NotificationTemplate, event_id: str) -> bool:
    if (queued := preloaded(session, QUEUED)) is not None:
        return (case.case_id, template.value, event_id) in queued
    found = await session.exec(select(Notification.id).where(
        Notification.case_id == case.case_id, Notification.template == template.value, Notification.event_id == event_id))
    return found.first() is not None


def _registered_params(event: CaseRegistered) -> dict[str, str]:
    return {"registered_jalali": to_jalali(event.registered_at)}


def _bounded(params: dict[str, str]) -> dict[str, str]:
    for name, value in params.items():
        if not isinstance(value, str) or len(value) > MAX_PARAM_CHARS:
            raise ValueError(f"parameter {name!r} must be text of at most {MAX_PARAM_CHARS} characters")
    return check_params(params)
