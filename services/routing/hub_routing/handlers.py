"""Routing's consumer: a registered case is referred to a unit with a deadline, rejected or returned,
as the rules in force decide; every decision says which rule matched and on what."""

import logging
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from hub_routing.models import Referral
from hub_routing.rulebook import REJECT_REASONS, RETURN_REASONS, CaseFacts, RuleBook
from hub_shared.calendar import Calendars
from hub_shared.envelope import Envelope
from hub_shared.events import CaseRegistered, CaseRejected, CaseReturned, CaseRouted
from hub_shared.jalali import to_jalali
from hub_shared.pending import add_row
from hub_shared.service import Runtime

log = logging.getLogger(__name__)


class Router:
    def __init__(self, runtime: Runtime, tree, rules: RuleBook, calendars: Calendars) -> None:
        self._runtime = runtime
        self._tree = tree
        self._rules = rules
        self._calendars = calendars

    async def on_registered(self, session: AsyncSession, envelope: Envelope) -> None:
        case: CaseRegistered = envelope.data
        now = datetime.now(UTC)
        outcome = self._rules.decide(CaseFacts(
            target=case.target, kind=case.kind, channel=case.channel, confidential=case.confidential,
            about_employee=case.about_employee is not None, topic=case.topic_id, keywords=frozenset(case.keywords)))
        decision = outcome.decision
        if outcome.action == "reject":
            log.info("case rejected: %s by %s", outcome.reason_code, decision.rule)
            fa, en = REJECT_REASONS[outcome.reason_code]
            self._runtime.stage(session, CaseRejected(case_id=case.case_id, tracking_code=case.tracking_code,
                                                      reason_code=outcome.reason_code, reason_fa=fa, reason_en=en, rejected_at=now))
            return
        if outcome.action == "return":
            log.info("case returned: %s by %s", outcome.reason_code, decision.rule)
            fa, en = RETURN_REASONS[outcome.reason_code]
            self._runtime.stage(session, CaseReturned(case_id=case.case_id, tracking_code=case.tracking_code,
                                                      reason_code=outcome.reason_code, reason_fa=fa, reason_en=en,
                                                      returned_to=case.source_system, by="routing", returned_at=now))
            return
        unit = self._tree.unit(outcome.unit_id)
        working_days = self._rules.working_days(case.target, case.kind)
        deadline = self._calendars.of(unit).deadline(case.registered_at, working_days)
        log.info("case referred to %s by rule %s, due %s", unit.id, decision.rule, deadline.isoformat())
        add_row(session, Referral, {"case_id": case.case_id, "tracking_code": case.tracking_code, "unit_id": unit.id, "rule": decision.rule,
                                    "working_days": working_days, "deadline_at": deadline, "routed_at": now, "agency": case.target.agency,
                                    "kind": case.kind.value, "confidential": case.confidential, "about_employee": case.about_employee,
                                    "rules_version": decision.rules_version})
        self._runtime.stage(session, CaseRouted(
            case_id=case.case_id, tracking_code=case.tracking_code, unit_id=unit.id, unit_name=unit.name_fa,
            decision=decision, working_days=working_days, deadline_at=deadline,
            deadline_jalali=to_jalali(deadline), routed_at=now,
            confidential=case.confidential, about_employee=case.about_employee, calendar=unit.calendar,
        ))
