"""Projects case facts into the read models: current status and ordered history (with the service and trace
of each fact), the per-case statistics row, and the status change feed. Every effect is a pure function of
the events, so replaying the topic from the beginning rebuilds identical tables (`python -m hub_reporting rebuild`)."""

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_reporting.models import CaseFact, CaseHistoryEntry, CaseStatus, FeedCounter, StatusChange
from hub_shared.consumer import preload, preloaded
from hub_shared.envelope import Envelope
from hub_shared.events import (CaseAnswered, CaseArchived, CaseClassified, CaseForwarded, CaseHandlingRated, CaseLinked, CaseRegistered,
                               CaseRejected, CaseReopened, CaseReturned, CaseRouted, CaseTransferred, DeadlineScheduled)
from hub_shared.events.describe import TIMELINE_ONLY, StatusNote, describe
from hub_shared.jalali import as_utc
from hub_shared.pending import add_row


@dataclass
class BatchRows:
    """The rows a batch of facts reads and changes, loaded once for the batch: the status and statistics row of
    each of its cases, and the change-feed entries, which are numbered when the batch ends."""

    statuses: dict[UUID, CaseStatus] = field(default_factory=dict)
    facts: dict[UUID, CaseFact] = field(default_factory=dict)
    changes: list[dict] = field(default_factory=list)  # columns of `StatusChange` rows, numbered by `finish`


BATCH = "reporting.batch"


async def prepare(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """Load the batch's cases in two queries, so projecting an event reads nothing more from the database."""
    ids = {envelope.data.case_id for envelope in envelopes}
    await preload(session, "reporting.statuses", CaseStatus, CaseStatus.case_id, ids)
    await preload(session, "reporting.facts", CaseFact, CaseFact.case_id, ids)
    session.info[BATCH] = BatchRows(statuses=preloaded(session, "reporting.statuses"), facts=preloaded(session, "reporting.facts"))


async def finish(session: AsyncSession) -> None:
    """Number the batch's status changes, in the order they happened, with one update of the feed counter."""
    changes = session.info.pop(BATCH).changes
    if changes:
        last = (await session.execute(update(FeedCounter).where(FeedCounter.id == 1)
                                      .values(last_seq=FeedCounter.last_seq + len(changes)).returning(FeedCounter.last_seq))).scalar_one()
        for seq, change in enumerate(changes, start=last - len(changes) + 1):
            add_row(session, StatusChange, {**change, "seq": seq})


async def project(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.data
    rows: BatchRows = session.info[BATCH]
    status = rows.statuses.get(event.case_id)
    # Facts of a case come from several services. After the broker lost its memory each outbox sends its
    # facts again on its own, so routing's `case routed` can arrive before intake's `case registered`.
    # A registration that comes after later facts fills in what it alone knows and changes nothing else.
    late_registration = status is not None and isinstance(event, CaseRegistered)
    if status is None:
        status = CaseStatus(tracking_code=event.tracking_code, case_id=event.case_id, status="registered", updated_at=envelope.time)
        session.add(status)
        rows.statuses[event.case_id] = status
    if late_registration:
        _register_late(status, event)
        rows.facts[event.case_id] = await _project_late_registration(session, event, status)
    else:
        _apply(status, event)
        _project_fact(rows, session, event)
    new_status, note_fa, note_en = _describe(event)
    if late_registration:
        new_status = None
    if new_status is not None:
        rows.changes.append(_change(envelope, new_status, status.unit_id or ""))
    status.status = new_status = new_status or status.status
    if not late_registration:
        status.updated_at = envelope.time  # the fact's time, not the clock's: a rebuild gives the same row
    add_row(session, CaseHistoryEntry, {"event_id": envelope.id, "case_id": event.case_id, "event_type": envelope.type,
                                        "status": new_status, "occurred_at": envelope.time, "note_fa": note_fa, "note_en": note_en,
                                        "source": envelope.source, "trace_id": trace_id_of(envelope.traceparent)})


def _describe(event) -> StatusNote:
    if isinstance(event, CaseClassified):
        return StatusNote(None, f"موضوع پرونده تعیین شد: {event.topic_id}.", f"The topic was set to {event.topic_id} by {event.by}.")
    return describe(event)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<flags>`), if it is one."""
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        return parts[1].lower()
    return None


def _apply(status: CaseStatus, event) -> None:
    """Copy what the status view shows from the fact."""
    match event:
        case CaseRegistered():
            status.case_number, status.kind, status.channel = event.case_number, event.kind.value, event.channel.value
            status.registered_at = event.registered_at
            status.unit_id = f"{event.target.agency}/{event.target.province}"
        case CaseRouted() | CaseTransferred():
            status.unit_id, status.unit_name, status.deadline_at = event.unit_id, event.unit_name, event.deadline_at
        case CaseForwarded():
            status.unit_id, status.unit_name = event.unit_id, event.unit_name


def _register_late(status: CaseStatus, event: CaseRegistered) -> None:
    status.case_number, status.kind, status.channel = event.case_number, event.kind.value, event.channel.value
    status.registered_at = event.registered_at


async def _project_late_registration(session: AsyncSession, event: CaseRegistered, status: CaseStatus) -> CaseFact:
    """The statistics row, with where the case went and when from the facts that came first."""
    await session.flush()  # the facts that came first may be in this very batch
    referred = (await session.exec(select(CaseHistoryEntry.occurred_at).where(
        CaseHistoryEntry.case_id == event.case_id, CaseHistoryEntry.event_type == CaseRouted.event_type)
        .order_by(CaseHistoryEntry.occurred_at))).first()
    fact = _registered_fact(event)
    fact.unit_id = status.unit_id or fact.unit_id
    fact.deadline_at, fact.routed_at = status.deadline_at, referred
    session.add(fact)
    return fact


def _registered_fact(event: CaseRegistered) -> CaseFact:
    return CaseFact(case_id=event.case_id, tracking_code=event.tracking_code, agency=event.target.agency,
                    province=event.target.province, county=event.target.county,
                    unit_id=f"{event.target.agency}/{event.target.province}", kind=event.kind.value,
                    topic_id=event.topic_id, channel=event.channel.value, confidential=event.confidential,
                    about_employee=event.about_employee, registered_at=event.registered_at)


def _project_fact(rows: BatchRows, session: AsyncSession, event) -> None:
    if isinstance(event, CaseRegistered):
        rows.facts[event.case_id] = fact = _registered_fact(event)
        session.add(fact)
        return
    fact = rows.facts.get(event.case_id)
    if fact is None:
        return  # a fact about a case registered before this read model existed: nothing to count it against
    match event:
        case CaseRouted():
            fact.unit_id, fact.deadline_at, fact.confidential = event.unit_id, event.deadline_at, event.confidential or fact.confidential
            fact.routed_at, fact.calendar = fact.routed_at or event.routed_at, event.calendar
        case CaseTransferred():
            fact.unit_id, fact.deadline_at, fact.transfer_count = event.unit_id, event.deadline_at, event.transfers
            fact.agency, fact.calendar = event.agency, event.calendar
        case CaseForwarded():
            fact.unit_id, fact.calendar = event.unit_id, event.calendar
        case CaseClassified():
            fact.topic_id = event.topic_id
        case CaseAnswered():
            fact.answered_at, fact.outcome, fact.unit_id = event.answered_at, event.outcome.value, event.unit_id
            fact.on_time = None if fact.deadline_at is None else as_utc(event.answered_at) <= as_utc(fact.deadline_at)
        case CaseReopened():
            fact.reopen_count = event.reopenings
    session.add(fact)


def _change(envelope: Envelope, status: str, unit_id: str) -> dict:
    """A change-feed entry, numbered by `finish`. The counter row is updated in the batch's transaction, so it stays
    locked until commit: a later transaction gets higher numbers only after this one committed, and a reader of the
    feed never skips a late committer."""
    event = envelope.data
    return {"event_id": envelope.id, "case_id": event.case_id, "tracking_code": event.tracking_code,
            "unit_id": unit_id, "status": status, "event_type": envelope.type, "occurred_at": envelope.time}


PROJECTED = (CaseRegistered, CaseRouted, CaseRejected, CaseLinked, DeadlineScheduled, CaseAnswered, CaseReopened, CaseArchived,
             CaseTransferred, CaseForwarded, CaseReturned, CaseHandlingRated, CaseClassified, *TIMELINE_ONLY)
