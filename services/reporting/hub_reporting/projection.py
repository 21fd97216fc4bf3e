"""Projects case facts into the status read model: current status plus an ordered history."""

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_reporting.models import CaseHistoryEntry, CaseStatus
from hub_shared.envelope import Envelope
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted, DeadlineScheduled
from hub_shared.jalali import to_jalali


async def project(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.data
    status = (await session.exec(select(CaseStatus).where(CaseStatus.case_id == event.case_id))).first()
    if status is None:
        status = CaseStatus(tracking_code=event.tracking_code, case_id=event.case_id, status="registered", updated_at=envelope.time)
        session.add(status)
    new_status, note_fa, note_en = _apply(status, event)
    status.status = new_status
    status.updated_at = datetime.now(UTC)
    session.add(CaseHistoryEntry(event_id=envelope.id, case_id=event.case_id, event_type=envelope.type,
                                 status=new_status, occurred_at=envelope.time, note_fa=note_fa, note_en=note_en))


def _apply(status: CaseStatus, event) -> tuple[str, str, str]:
    match event:
        case CaseRegistered():
            status.case_number, status.kind, status.channel = event.case_number, event.kind.value, event.channel.value
            status.registered_at = event.registered_at
            return "registered", "درخواست ثبت شد.", "The case was registered."
        case CaseRouted():
            status.unit_id, status.unit_name, status.deadline_at = event.unit_id, event.unit_name, event.deadline_at
            return ("referred", f"به {event.unit_name} ارجاع شد؛ مهلت پاسخ: {to_jalali(event.deadline_at)}.",
                    f"Referred to {event.unit_id}; answer due {event.deadline_at:%Y-%m-%d}.")
        case CaseRejected():
            return "rejected", f"مردود: {event.reason_fa}", f"Rejected: {event.reason_en}"
        case DeadlineScheduled():
            return status.status, "پیگیری مهلت پاسخ فعال شد.", "Deadline follow-up is scheduled."
    raise ValueError(f"no projection for {type(event).__name__}")


PROJECTED = (CaseRegistered, CaseRouted, CaseRejected, DeadlineScheduled)
