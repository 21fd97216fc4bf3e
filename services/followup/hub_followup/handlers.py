"""Follow-up's consumer: a routed case gets a durable timer for its answer deadline."""

import logging
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_followup.models import Timer
from hub_shared.envelope import Envelope
from hub_shared.events import CaseRouted, DeadlineScheduled
from hub_shared.service import Runtime

ANSWER_DEADLINE = "answer_deadline"
log = logging.getLogger(__name__)


class DeadlineKeeper:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def on_routed(self, session: AsyncSession, envelope: Envelope) -> None:
        case: CaseRouted = envelope.data
        now = datetime.now(UTC)
        log.info("answer deadline timer set for %s at %s", case.unit_id, case.deadline_at.isoformat())
        session.add(Timer(case_id=case.case_id, tracking_code=case.tracking_code, unit_id=case.unit_id,
                          step=ANSWER_DEADLINE, due_at=case.deadline_at, status="pending", created_at=now))
        self._runtime.stage(session, DeadlineScheduled(case_id=case.case_id, tracking_code=case.tracking_code,
                                                       unit_id=case.unit_id, due_at=case.deadline_at, scheduled_at=now))
