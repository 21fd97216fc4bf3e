"""Routing's consumer: a registered case is referred to a unit with a deadline, or rejected."""

import logging
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_routing.calendar import WorkingCalendar
from hub_routing.models import Referral
from hub_routing.tree import NoResponsibleUnit, OrgTree
from hub_shared.envelope import Envelope
from hub_shared.events import CaseRegistered, CaseRejected, CaseRouted
from hub_shared.jalali import to_jalali
from hub_shared.service import Runtime


log = logging.getLogger(__name__)


class Router:
    def __init__(self, runtime: Runtime, tree: OrgTree, calendar: WorkingCalendar, working_days: int) -> None:
        self._runtime = runtime
        self._tree = tree
        self._calendar = calendar
        self._working_days = working_days

    async def on_registered(self, session: AsyncSession, envelope: Envelope) -> None:
        case: CaseRegistered = envelope.data
        now = datetime.now(UTC)
        try:
            unit, decision = self._tree.responsible_unit(case.target)
        except NoResponsibleUnit as refusal:
            log.info("case rejected: %s", refusal.reason_code)
            self._runtime.stage(session, CaseRejected(
                case_id=case.case_id, tracking_code=case.tracking_code, reason_code=refusal.reason_code,
                reason_fa=refusal.reason_fa, reason_en=refusal.reason_en, rejected_at=now,
            ))
            return
        deadline = self._calendar.deadline(case.registered_at, self._working_days)
        log.info("case referred to %s by rule %s, due %s", unit.id, decision.rule, deadline.isoformat())
        session.add(Referral(case_id=case.case_id, tracking_code=case.tracking_code, unit_id=unit.id, rule=decision.rule,
                             working_days=self._working_days, deadline_at=deadline, routed_at=now))
        self._runtime.stage(session, CaseRouted(
            case_id=case.case_id, tracking_code=case.tracking_code, unit_id=unit.id, unit_name=unit.name_fa,
            decision=decision, working_days=self._working_days, deadline_at=deadline,
            deadline_jalali=to_jalali(deadline), routed_at=now,
        ))
