"""Intake's copy of each case's life, from the facts on `hub.cases.v1`: what the citizen sees when
tracking the case (status, holding unit and its working calendar, deadline, history) and what staff views are checked against
(the holding unit)."""

import logging
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.consumer import preload, preloaded
from hub_shared.pending import add_row

from hub_intake import notify
from hub_intake.models import Case, CaseHistory
from hub_shared.envelope import Envelope
from hub_shared.events import (CaseAnswered, CaseForwarded, CaseRejected, CaseReturned, CaseRouted, CaseTransferred,
                               CaseEscalated, Event, InformationReceived, InformationRequested)
from hub_shared.events.describe import describe
from hub_shared.service import Runtime

log = logging.getLogger(__name__)
CASES = "intake.cases"


def record_fact(session: AsyncSession, case: Case, event: Event, at: datetime) -> None:
    """Apply a fact to the case and add it to the citizen-visible history."""
    history = apply_fact(case, event, at)
    session.add(case)
    add_row(session, CaseHistory, history)  # read back only by queries: one INSERT for the batch's rows


def apply_fact(case: Case, event: Event, at: datetime) -> dict:
    """Apply a fact to the case object; the history row the citizen sees of it."""
    status, note_fa, note_en = describe(event)
    case.status = status or case.status
    if isinstance(event, CaseRouted | CaseTransferred):
        case.unit_id, case.unit_name, case.deadline_at = event.unit_id, event.unit_name, event.deadline_at
    if isinstance(event, CaseForwarded):
        case.unit_id, case.unit_name = event.unit_id, event.unit_name
    if isinstance(event, CaseRouted | CaseTransferred | CaseForwarded):
        case.calendar = event.calendar  # the new unit's; none on older events, which means the standard one
    if isinstance(event, CaseAnswered):
        case.answer_outcome, case.answer_fa, case.legal_grounds = event.outcome.value, event.answer_fa, event.legal_grounds
        case.answered_at = event.answered_at
    return {"case_id": case.case_id, "status": case.status, "at": at, "note_fa": note_fa, "note_en": note_en}


async def announce(session: AsyncSession, runtime: Runtime, case: Case, event: Event, at: datetime, event_id: str) -> None:
    """A fact intake itself establishes: applied to the case and its history, staged for the bus, and told to
    the citizen, all in the caller's transaction. `event_id` keeps a redelivery from queueing a second message."""
    record_fact(session, case, event, at)
    runtime.stage(session, event)
    await notify.enqueue_for_fact(session, case, event, event_id)


async def load_cases(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """A batch's cases, and what their citizens are told, in a query each (`Subscription.prepare`)."""
    case_ids = {envelope.data.case_id for envelope in envelopes}
    await preload(session, CASES, Case, Case.case_id, case_ids)
    await notify.preload_contacts(session, case_ids, {envelope.id for envelope in envelopes})


async def on_case_fact(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.data
    cases = preloaded(session, CASES)
    case = cases.get(event.case_id) if cases is not None else (
        await session.exec(select(Case).where(Case.case_id == event.case_id))).first()
    if case is None:  # a fact about a case another intake registered is not ours to show
        log.warning("fact %s about a case intake does not hold", envelope.type)
        return
    record_fact(session, case, event, envelope.time)
    await notify.enqueue_for_fact(session, case, event, envelope.id)


TRACKED = (CaseRouted, CaseRejected, CaseAnswered, CaseTransferred, CaseForwarded, CaseReturned, InformationRequested,
           InformationReceived, CaseEscalated)  # intake records its own facts as it stages them
