"""The consumer groups of the case stream and the facts each one applies, for `hub reconcile`.

A service's subscriptions are the truth; this catalog mirrors them so that the reconcile command can tell
which facts a group should have applied without starting the services (`shared/tests/test_groups.py`
fails when the two disagree).
"""

from hub_shared.events import (
    AnswerReturnedForRework,
    CaseAnswered,
    CaseArchived,
    CaseClassified,
    CaseEscalated,
    CaseForwarded,
    CaseHandlingRated,
    CaseLinked,
    CaseRegistered,
    CaseRejected,
    CaseReopened,
    CaseReturned,
    CaseRouted,
    CaseTransferred,
    DeadlineScheduled,
    FieldInspectionRecorded,
    FollowUpSent,
    InformationReceived,
    InformationRequested,
    OpinionGiven,
    ReminderSent,
    ResponseSubmitted,
    SlaBreached,
    SubmissionRejected,
)
from hub_shared.reconcile import Group


def _types(*models) -> frozenset[str]:
    return frozenset(model.event_type for model in models)


_MOVES = (CaseRouted, CaseTransferred, CaseForwarded, CaseReturned, CaseRejected)
CASE_STREAM_GROUPS: tuple[Group, ...] = (
    Group("intake", "intake", _types(*_MOVES, CaseAnswered, CaseEscalated, InformationReceived, InformationRequested)),
    Group("routing", "routing", _types(CaseRegistered)),
    Group("followup", "followup", _types(*_MOVES, CaseAnswered, CaseArchived, CaseReopened)),
    Group("followup-casework", "followup", _types(*_MOVES, CaseArchived, CaseClassified, CaseRegistered, CaseReopened)),
    Group("reporting", "reporting", _types(
        *_MOVES, AnswerReturnedForRework, CaseAnswered, CaseArchived, CaseClassified, CaseEscalated, CaseHandlingRated, CaseLinked,
        CaseRegistered, CaseReopened, DeadlineScheduled, FieldInspectionRecorded, FollowUpSent, InformationReceived,
        InformationRequested, OpinionGiven, ReminderSent, ResponseSubmitted, SlaBreached)),
    Group("samad-gateway", "samad-gateway", _types(
        CaseAnswered, CaseArchived, CaseLinked, CaseRegistered, CaseRejected, CaseReopened, CaseReturned, CaseRouted, CaseTransferred,
        SubmissionRejected)),
)
