"""The work on a case between referral and final answer: the unit's response, the expert's opinion, a
request to the citizen for more information, a field inspection, the manager's return for rework.

Facts on `hub.cases.v1` say who did what and when (and the proposed outcome), never the texts: the
response, opinion and findings are case content that stays in follow-up's database. Only the final
answer (`CaseAnswered`) carries its text, because the citizen and SAMAD must receive it.

Agency systems may send a unit's response as a command (`SubmitResponse`) on `hub.inbound.v1`;
follow-up answers with `ResponseSubmitted` or `ResponseRejected`, both naming the sender's reference.
"""

from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from hub_shared.events.base import Event, registry
from hub_shared.events.cases import AnswerOutcome, _CaseEvent
from hub_shared.events.inbound import SourceRef
from hub_shared.topics import INBOUND

MAX_ATTACHMENTS = 50
MAX_WORK_TEXT = 20_000
# an intake attachment's id, or the SHA-256 of a document the agency keeps: follow-up never stores files
AttachmentRef = Annotated[str, StringConstraints(
    pattern=r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|sha256:[0-9a-f]{64})$")]


class _WorkStep(_CaseEvent):
    unit_id: str = Field(description="the unit holding the case when the step was taken")
    by: str = Field(max_length=128, description="staff id of who took the step, or the system that sent it")


@registry.register
class ResponseSubmitted(_WorkStep):
    """The holding unit answered (with documents); the text stays in follow-up."""

    event_type = "ir.hub.case.response-submitted.v1"
    source: SourceRef | None = Field(None, description="set when an agency system sent it on hub.inbound.v1")
    attachments: int = Field(0, ge=0, le=MAX_ATTACHMENTS, description="how many documents it refers to")
    submitted_at: AwareDatetime


@registry.register
class InformationRequested(_WorkStep):
    """The office asked the citizen for more information (intake tells them). The answer deadline
    pauses only where the agency's policy says so."""

    event_type = "ir.hub.case.information-requested.v1"
    clock_paused: bool
    requested_at: AwareDatetime


@registry.register
class InformationReceived(_WorkStep):
    """The citizen's information arrived; a paused deadline runs again."""

    event_type = "ir.hub.case.information-received.v1"
    received_at: AwareDatetime


@registry.register
class OpinionGiven(_WorkStep):
    """The office expert's opinion on the case, with the outcome they propose."""

    event_type = "ir.hub.case.opinion-given.v1"
    proposed_outcome: AnswerOutcome
    given_at: AwareDatetime


@registry.register
class FieldInspectionRecorded(_WorkStep):
    """The findings of a field inspection were recorded."""

    event_type = "ir.hub.case.field-inspection-recorded.v1"
    inspected_at: AwareDatetime


@registry.register
class AnswerReturnedForRework(_WorkStep):
    """The office manager did not approve the answer and sent it back; the reason stays in follow-up."""

    event_type = "ir.hub.case.answer-returned-for-rework.v1"
    returned_at: AwareDatetime


@registry.register
class SubmitResponse(Event):
    """An agency system sends the response of one of its units. Idempotent per `source`."""

    event_type = "ir.hub.inbound.submit-response.v1"
    topic = INBOUND.name
    source: SourceRef
    case_id: UUID
    tracking_code: str = Field(max_length=32)
    unit_id: str = Field(min_length=1, max_length=200, description="the responding unit: the case must be held by it or below it")
    text: str = Field(min_length=1, max_length=MAX_WORK_TEXT)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    def subject(self) -> str:
        return f"{self.source.system}:{self.source.ref}"


@registry.register
class ResponseRejected(_CaseEvent):
    """Follow-up refused a `SubmitResponse`; `source` is the sender's reference, the reason one it can act on."""

    event_type = "ir.hub.case.response-rejected.v1"
    source: SourceRef
    reason_code: str
    reason_fa: str
    reason_en: str
    rejected_at: AwareDatetime
