"""The gateway listens to case facts. It remembers the cases that came from SAMAD or the inspection
organization, learns which case each external reference became, and queues every status change and
the final answer of such a case for delivery to its origin, numbered in order per external case."""

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_gateway.mapping import SYSTEM, parse_ref
from hub_gateway.models import Delivery, ExternalCase, ExternalRef
from hub_shared.envelope import Envelope
from hub_shared.events import (CaseAnswered, CaseArchived, CaseLinked, CaseRegistered, CaseRejected, CaseReopened, CaseReturned,
                               CaseRouted, CaseTransferred, Channel, SubmissionRejected)

EXTERNAL_ORIGINS = {Channel.samad, Channel.inspection_org}
REFS = "gateway.refs"


async def on_registered(session: AsyncSession, envelope: Envelope) -> None:
    case: CaseRegistered = envelope.data
    if case.channel in EXTERNAL_ORIGINS:
        session.add(ExternalCase(case_id=case.case_id, origin=case.channel.value, tracking_code=case.tracking_code,
                                 last_status="registered", updated_at=datetime.now(UTC)))
    await _bind(session, envelope, case.source_system, case.external_ref, "registered")


async def on_linked(session: AsyncSession, envelope: Envelope) -> None:
    case: CaseLinked = envelope.data
    await _bind(session, envelope, case.source_system, case.external_ref, "linked")


async def on_submission_rejected(session: AsyncSession, envelope: Envelope) -> None:
    refusal: SubmissionRejected = envelope.data
    ref = parse_ref(refusal.source.ref) if refusal.source.system == SYSTEM else None
    known = ref and await session.get(ExternalRef, ref)
    if known:
        await _enqueue(session, envelope, known, "refused", {"note": refusal.reason_fa})


async def _bind(session: AsyncSession, envelope: Envelope, system: str | None, external_ref: str | None, status: str) -> None:
    ref = parse_ref(external_ref) if system == SYSTEM else None
    known = ref and await session.get(ExternalRef, ref)
    if not known:
        return
    known.case_id, known.tracking_code = envelope.data.case_id, envelope.data.tracking_code
    if (refs := session.info.get(REFS)) is not None and known not in refs[known.case_id]:
        refs[known.case_id].append(known)  # the batch's later facts of the case find it
    await _enqueue(session, envelope, known, status, {})


async def load_refs(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """The external references of a batch's cases, in one query (`Subscription.prepare`): most cases came from
    no remote, and their facts then cost no query at all."""
    ids = {UUID(str(envelope.data.case_id)) for envelope in envelopes if envelope.type in STATUS_HANDLERS}
    refs: defaultdict[UUID, list[ExternalRef]] = defaultdict(list)
    if ids:
        for ref in (await session.exec(select(ExternalRef).where(col(ExternalRef.case_id).in_(ids)))).all():
            refs[ref.case_id].append(ref)
    session.info[REFS] = refs


async def _refs_of(session: AsyncSession, case_id: UUID) -> list[ExternalRef]:
    if (refs := session.info.get(REFS)) is not None:
        return list(refs.get(case_id, ()))
    return list((await session.exec(select(ExternalRef).where(ExternalRef.case_id == case_id))).all())


def _on_status(status: str, details) -> callable:
    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        for ref in await _refs_of(session, UUID(str(envelope.data.case_id))):
            await _enqueue(session, envelope, ref, status, details(envelope.data))

    handler.__name__ = f"on_{status}"
    return handler


def _answer(event: CaseAnswered) -> dict:
    return {"unit": event.unit_id, "answer": {"outcome": event.outcome.value, "text": event.answer_fa, "legal_grounds": event.legal_grounds}}


STATUS_HANDLERS = {
    CaseRouted.event_type: _on_status("referred", lambda e: {"unit": e.unit_name}),
    CaseTransferred.event_type: _on_status("transferred", lambda e: {"unit": e.unit_name}),
    CaseAnswered.event_type: _on_status("answered", _answer),
    CaseRejected.event_type: _on_status("rejected", lambda e: {"note": e.reason_fa}),
    CaseReturned.event_type: _on_status("returned", lambda e: {"note": e.reason_fa}),
    CaseReopened.event_type: _on_status("reopened", lambda e: {}),
    CaseArchived.event_type: _on_status("archived", lambda e: {}),
}


async def _enqueue(session: AsyncSession, envelope: Envelope, ref: ExternalRef, status: str, details: dict) -> None:
    await enqueue(session, ref, status, {"tracking_code": ref.tracking_code, "occurred_at": envelope.time.isoformat(), **details})


async def enqueue(session: AsyncSession, ref: ExternalRef, status: str, payload: dict) -> Delivery:
    """Queue one update for `ref`'s remote, numbered after every update already queued for it."""
    last = (await session.exec(select(func.max(col(Delivery.sequence))).where(
        Delivery.remote == ref.remote, Delivery.external_id == ref.external_id))).one()
    now = datetime.now(UTC)
    ref.last_status, ref.updated_at = status, now
    session.add(ref)
    delivery = Delivery(update_id=uuid.uuid4().hex, remote=ref.remote, external_id=ref.external_id, sequence=(last or 0) + 1,
                        status=status, payload=payload, next_attempt_at=now, created_at=now)
    session.add(delivery)
    return delivery
