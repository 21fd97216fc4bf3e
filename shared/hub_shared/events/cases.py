"""Facts of a case's life on `hub.cases.v1`, keyed by case id."""

from datetime import datetime
from enum import Enum
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub_shared.events.base import Event, registry
from hub_shared.topics import CASES


class CaseKind(str, Enum):
    complaint = "complaint"
    request = "request"
    suggestion = "suggestion"
    idea = "idea"
    criticism = "criticism"
    report = "report"
    appreciation = "appreciation"
    misconduct_report = "misconduct_report"


class Channel(str, Enum):
    web = "web"
    email = "email"
    phone_111 = "phone_111"
    in_person = "in_person"
    letter = "letter"
    official_trip = "official_trip"
    face_to_face = "face_to_face"
    samad = "samad"
    inspection_org = "inspection_org"
    presidential_office = "presidential_office"
    agency_system = "agency_system"


class Target(BaseModel):
    """The authority the citizen names: an agency, and where the matter happened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str = Field(min_length=1, max_length=64)
    province: str = Field(min_length=1, max_length=64)
    county: str | None = Field(None, max_length=64)


class _CaseEvent(Event):
    topic = CASES.name
    case_id: UUID
    tracking_code: str

    def subject(self) -> str:
        return str(self.case_id)


@registry.register
class CaseRegistered(_CaseEvent):
    """Intake accepted and stored a case. Carries no personal data: `citizen_ref` is a keyed pseudonym,
    and the citizen's own words (subject, description), which often hold names and numbers, stay in intake."""

    event_type = "ir.hub.case.registered.v1"
    case_number: str
    kind: CaseKind
    channel: Channel
    target: Target
    confidential: bool = False
    anonymous: bool = False
    citizen_ref: str | None = Field(None, description="keyed hash of the national ID; never the ID itself")
    registered_at: AwareDatetime


class RoutingDecision(BaseModel):
    """Why a case went where it went: the rule that matched and what it matched on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    explanation: str


@registry.register
class CaseRouted(_CaseEvent):
    """Routing referred the case to a responsible unit with a deadline in working days."""

    event_type = "ir.hub.case.routed.v1"
    unit_id: str
    unit_name: str
    decision: RoutingDecision
    working_days: int = Field(gt=0)
    deadline_at: AwareDatetime
    deadline_jalali: str
    routed_at: AwareDatetime


@registry.register
class CaseRejected(_CaseEvent):
    """Routing (or intake) refused the case, with a reason the citizen can act on."""

    event_type = "ir.hub.case.rejected.v1"
    reason_code: str
    reason_fa: str
    reason_en: str
    rejected_at: AwareDatetime


@registry.register
class DeadlineScheduled(_CaseEvent):
    """Follow-up holds a durable timer for the case's answer deadline."""

    event_type = "ir.hub.case.deadline-scheduled.v1"
    unit_id: str
    due_at: datetime
    scheduled_at: AwareDatetime
