"""The follow-up ladder's steps on `hub.cases.v1`: reminders, the SLA breach, follow-ups and escalations.

Followup publishes one event per step, once. `ladder` counts the case's ladders: 1 from routing, n + 1 after
the n-th reopening (or a new routing), so a consumer can tell the steps of a reopened case apart.
"""

from pydantic import AwareDatetime, Field

from hub_shared.events.base import registry
from hub_shared.events.cases import _CaseEvent


@registry.register
class ReminderSent(_CaseEvent):
    """The unit was reminded that the answer deadline is near."""

    event_type = "ir.hub.case.reminder-sent.v1"
    unit_id: str
    days_left: int = Field(gt=0, description="working days left before the deadline")
    deadline_at: AwareDatetime
    ladder: int = Field(1, ge=1)
    sent_at: AwareDatetime


@registry.register
class SlaBreached(_CaseEvent):
    """The answer deadline passed without an answer; published once per ladder, when it passes."""

    event_type = "ir.hub.case.sla-breached.v1"
    unit_id: str
    deadline_at: AwareDatetime
    ladder: int = Field(1, ge=1)
    breached_at: AwareDatetime


@registry.register
class FollowUpSent(_CaseEvent):
    """The unit was followed up (پیگیری): 1st at the deadline, 2nd, 3rd with notice to its superiors; after the
    ladder reached the top of the agency, a follow-up every few working days (`repeat` 1, 2, ...) at level 3."""

    event_type = "ir.hub.case.follow-up-sent.v1"
    unit_id: str
    level: int = Field(ge=1, le=3)
    notice_to_superiors: bool = False
    repeat: int = Field(0, ge=0, description="0 for the ladder's three follow-ups, n for the n-th one after them")
    ladder: int = Field(1, ge=1)
    sent_at: AwareDatetime


@registry.register
class CaseEscalated(_CaseEvent):
    """The unit did not answer after its grace: the case is escalated to the performance office above it."""

    event_type = "ir.hub.case.escalated.v1"
    from_unit: str
    to_unit: str
    level: int = Field(ge=1, description="1 for the first escalation, 2 for the next level up, ...")
    ladder: int = Field(1, ge=1)
    escalated_at: AwareDatetime
