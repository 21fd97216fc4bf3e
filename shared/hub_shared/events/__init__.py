"""Versioned event and command bodies: the bus contract.

Every body is a pydantic model with a CloudEvents `type`; the JSON Schema of each is exported by
`hub schemas` and appears in each service's AsyncAPI document.
"""

from hub_shared.events.base import Event, EventRegistry, registry
from hub_shared.events.cases import (
    AnswerOutcome,
    CaseAnswered,
    CaseArchived,
    CaseHandlingRated,
    CaseReopened,
    CaseKind,
    CaseLinked,
    CaseRegistered,
    CaseRejected,
    CaseRouted,
    Channel,
    DeadlineScheduled,
    RoutingDecision,
    Target,
)
from hub_shared.events.routing import CaseForwarded, CaseReturned, CaseTransferred
from hub_shared.events.classification import CaseClassified
from hub_shared.events.casework import (AnswerReturnedForRework, AttachmentRef, FieldInspectionRecorded, InformationReceived,
                                       InformationRequested, OpinionGiven, ResponseRejected, ResponseSubmitted, SubmitResponse)
from hub_shared.events.feedback import Aspects, RatingSubmitted
from hub_shared.events.followup import CaseEscalated, FollowUpSent, ReminderSent, SlaBreached
from hub_shared.events.inbound import Identity, SourceRef, SubmissionRejected, SubmitCase
from hub_shared.events.notifications import NotificationRequested, NotificationTemplate
from hub_shared.events.org import OrgUnitRemoved, OrgUnitUpserted, UnitContact, UnitFields

__all__ = [
    "AnswerReturnedForRework",
    "AttachmentRef",
    "FieldInspectionRecorded",
    "InformationReceived",
    "InformationRequested",
    "OpinionGiven",
    "ResponseRejected",
    "ResponseSubmitted",
    "SubmitResponse",
    "AnswerOutcome",
    "CaseAnswered",
    "CaseArchived",
    "CaseHandlingRated",
    "CaseClassified",
    "CaseEscalated",
    "CaseReopened",
    "Aspects",
    "CaseKind",
    "CaseForwarded",
    "CaseLinked",
    "CaseReturned",
    "CaseTransferred",
    "CaseRegistered",
    "CaseRejected",
    "CaseRouted",
    "Channel",
    "DeadlineScheduled",
    "Event",
    "EventRegistry",
    "FollowUpSent",
    "Identity",
    "NotificationRequested",
    "NotificationTemplate",
    "OrgUnitRemoved",
    "OrgUnitUpserted",
    "RatingSubmitted",
    "ReminderSent",
    "RoutingDecision",
    "SlaBreached",
    "SourceRef",
    "SubmissionRejected",
    "SubmitCase",
    "Target",
    "UnitContact",
    "UnitFields",
    "registry",
]
