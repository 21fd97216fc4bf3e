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
    about_employee: str | None = Field(None, max_length=64, description=(
        "staff id of the employee the case is about: staff views never show the case to that employee"))
    source_system: str | None = Field(None, max_length=64, description="the system that sent it on hub.inbound.v1")
    external_ref: str | None = Field(None, max_length=128, description="that system's own reference, for correlation")
    registered_at: AwareDatetime
    topic_id: str | None = Field(None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64, description=(
        "the topic intake's classifier suggests, an id of hub_shared/reference/topics.yaml; staff may correct it later "
        "(CaseClassified). Not named `topic`: that is the Kafka topic of every event"))
    topic_confidence: float | None = Field(None, ge=0, le=1, description="the classifier's confidence in `topic_id`")
    keywords: list[str] = Field(default_factory=list, max_length=20, description=(
        "ids of the routing keywords (hub_shared/reference/topics.yaml) found in the citizen's text"))


class RoutingDecision(BaseModel):
    """Why a case went where it went: the rule that matched, what it matched on, and the rules in force."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    explanation: str
    matched: list[str] = Field(default_factory=list, description="the conditions that held, e.g. 'topic=cooperatives'")
    rules_version: str = Field("", description="fingerprint of the rule files in force when the case was routed")


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
    confidential: bool = False
    about_employee: str | None = Field(None, max_length=64, description="as on the registered case, for staff views")
    calendar: str | None = Field(None, max_length=64, description=(
        "the working calendar of the unit the case is referred to (`iran-standard`, `iran-thursday-working`), on which "
        "the deadline was counted and the follow-ups are; absent on older events: the standard one"))


@registry.register
class CaseLinked(_CaseEvent):
    """The same matter arrived again (another channel, or the same citizen again while it is open): it is
    linked to this case, not registered twice. `case_id` and `tracking_code` are the earlier case's."""

    event_type = "ir.hub.case.linked.v1"
    channel: Channel
    source_system: str | None = Field(None, max_length=64)
    external_ref: str | None = Field(None, max_length=128)
    linked_at: AwareDatetime


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


class AnswerOutcome(str, Enum):
    upheld = "upheld"  # وارد
    partly_upheld = "partly_upheld"  # بخشی وارد
    not_upheld = "not_upheld"  # وارد نیست
    not_within_mandate = "not_within_mandate"  # خارج از صلاحیت


@registry.register
class CaseAnswered(_CaseEvent):
    """The final answer, approved by the office manager, for the citizen and the supervising bodies."""

    event_type = "ir.hub.case.answered.v1"
    unit_id: str
    outcome: AnswerOutcome
    answer_fa: str = Field(min_length=1, max_length=20_000)
    legal_grounds: str = Field(min_length=1, max_length=4_000, description="the law or regulation the answer rests on")
    answered_at: AwareDatetime


@registry.register
class CaseReopened(_CaseEvent):
    """The citizen objected to the answer: the case goes back to the office with its history. The
    objection's text stays in intake, like the case's description; staff read it in intake's case view."""

    event_type = "ir.hub.case.reopened.v1"
    reopenings: int = Field(ge=1, description="how many times the case has been reopened, this one included")
    reopened_at: AwareDatetime


@registry.register
class CaseArchived(_CaseEvent):
    """The citizen accepted the answer; the case is closed."""

    event_type = "ir.hub.case.archived.v1"
    archived_at: AwareDatetime


@registry.register
class CaseHandlingRated(_CaseEvent):
    """After the answer, the citizen rated how the case was handled (not anonymous: it is about this case)."""

    event_type = "ir.hub.case.handling-rated.v1"
    unit_id: str
    score: int = Field(ge=1, le=5)
    rated_at: AwareDatetime
