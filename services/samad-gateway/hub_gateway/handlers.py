"""The gateway listens to case facts and remembers the cases that came from SAMAD or the
inspection organization. Pushing their status back to the origin is the next step of this service."""

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_gateway.models import ExternalCase
from hub_shared.envelope import Envelope
from hub_shared.events import CaseRegistered, Channel

EXTERNAL_ORIGINS = {Channel.samad, Channel.inspection_org}


async def on_registered(session: AsyncSession, envelope: Envelope) -> None:
    case: CaseRegistered = envelope.data
    if case.channel in EXTERNAL_ORIGINS:
        session.add(ExternalCase(case_id=case.case_id, origin=case.channel.value, tracking_code=case.tracking_code,
                                 last_status="registered", updated_at=datetime.now(UTC)))
