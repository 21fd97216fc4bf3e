"""The work on a case up to its final answer: the unit responds (with documents), the office expert may
ask the citizen for more information and gives an opinion, an inspector may record a field inspection,
and the office manager approves the final answer or returns it for rework.

Follow-up keeps its own view of each case from the facts on `hub.cases.v1` (who holds it, whether it is
still open) and the steps taken on it, texts included. Each step is a fact on `hub.cases.v1` saying who
and when, not what; the approved final answer is `CaseAnswered`, which carries its text to the citizen.
"""

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_followup.casework_models import WorkedCase, WorkStep
from hub_followup.clock import Clock, SystemClock
from hub_followup.ladder import pause_clock, resume_clock
from hub_shared.auth import Principal, Role
from hub_shared.consumer import Handler, preload, preloaded
from hub_shared.envelope import Envelope
from hub_shared.events import (AnswerOutcome, AnswerReturnedForRework, CaseAnswered, CaseArchived, CaseForwarded,
                               CaseClassified, CaseRegistered, CaseRejected, CaseReopened, CaseReturned, CaseRouted, CaseTransferred,
                               FieldInspectionRecorded, InformationReceived, InformationRequested, NotificationRequested,
                               NotificationTemplate, OpinionGiven, ResponseRejected, ResponseSubmitted, SourceRef,
                               SubmitResponse)
from hub_shared.pending import add_row
from hub_shared.service import Runtime
from hub_shared.text import normalize_text

log = logging.getLogger(__name__)
CASES = "followup.cases"


class Stage(StrEnum):
    registered = "registered"  # known from intake, not routed yet: nobody works on it
    in_progress = "in_progress"
    awaiting_information = "awaiting_information"
    responded = "responded"
    opinion_given = "opinion_given"
    rework = "rework"
    answered = "answered"
    returned = "returned"
    rejected = "rejected"
    archived = "archived"


OPEN = (Stage.in_progress, Stage.awaiting_information, Stage.responded, Stage.opinion_given, Stage.rework)


class StepKind(StrEnum):
    routed = "routed"
    response = "response"
    information_request = "information_request"
    information_received = "information_received"
    opinion = "opinion"
    field_inspection = "field_inspection"
    rework = "rework"
    approval = "approval"
    reopened = "reopened"


# what a case is at after information arrives: where the last of these steps left it
_STAGE_AFTER = {StepKind.response: Stage.responded, StepKind.opinion: Stage.opinion_given,
                StepKind.rework: Stage.rework, StepKind.reopened: Stage.in_progress, StepKind.routed: Stage.in_progress}
# the manager decides on the work done since the last of these
_ROUND_STARTS = (StepKind.routed, StepKind.reopened, StepKind.rework)
_CLOSING = {CaseReturned: Stage.returned, CaseRejected: Stage.rejected, CaseArchived: Stage.archived}
PUBLISHED = (ResponseSubmitted, InformationRequested, InformationReceived, OpinionGiven, FieldInspectionRecorded,
             AnswerReturnedForRework, CaseAnswered, ResponseRejected, NotificationRequested)


@dataclass(frozen=True)
class Actor:
    """Who took a step: a staff member, an agency's system, or the citizen (reopening)."""

    subject: str
    role: str
    unit: str

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        return cls(principal.subject, principal.role.value, principal.unit)


class Refused(Exception):
    """A step the case's stage does not allow, with a reason in Persian and English."""

    def __init__(self, code: str, message_fa: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_fa, self.message_en = code, message_fa, message_en


def clean_text(value: str) -> str:
    """Persian letters normalised line by line (line breaks kept); control characters refused."""
    text = "\n".join(normalize_text(line) for line in value.strip().splitlines()).strip()
    if any(unicodedata.category(char) in ("Cc", "Cs") and char != "\n" for char in text):
        raise ValueError("control characters are not allowed")
    if not text:
        raise ValueError("the text is empty")
    return text


class CaseWork:
    def __init__(self, runtime: Runtime, clock: Clock | None = None) -> None:
        self._runtime, self._clock = runtime, clock or SystemClock()  # the ladder's clock: pauses line up with its timers

    def case_facts(self) -> dict[str, Handler]:
        """What follow-up's view of a case learns from each fact on `hub.cases.v1`."""
        return {CaseRegistered.event_type: self.on_registered, CaseRouted.event_type: self.on_routed,
                CaseClassified.event_type: self.on_classified,
                **{event.event_type: self.on_moved for event in (CaseTransferred, CaseForwarded)},
                **{event.event_type: self.on_closed for event in _CLOSING}, CaseReopened.event_type: self.on_reopened}

    # --- the case's life, from hub.cases.v1 ----------------------------------------------------------

    async def on_registered(self, session: AsyncSession, envelope: Envelope) -> None:
        event: CaseRegistered = envelope.data
        case = await find(session, event.case_id)
        labels = {"case_number": event.case_number, "channel": event.channel.value}
        if case is None:
            _add(session, _new_case(event.case_id, event.tracking_code, event.target.agency, kind=event.kind.value,
                                    confidential=event.confidential, about_employee=event.about_employee,
                                    topic_id=event.topic_id, **labels))
        elif case.kind is None:  # routed first (outboxes resend on their own after a broker loss): only the labels are new
            case.kind, case.case_number, case.channel = event.kind.value, labels["case_number"], labels["channel"]
            case.topic_id = case.topic_id or event.topic_id
            session.add(case)

    async def on_classified(self, session: AsyncSession, envelope: Envelope) -> None:
        """Staff settled the topic: the inbox filters by it."""
        event: CaseClassified = envelope.data
        if (case := await _known(session, envelope)) is not None:
            case.topic_id = event.topic_id
            session.add(case)

    async def on_routed(self, session: AsyncSession, envelope: Envelope) -> None:
        event: CaseRouted = envelope.data
        case = await find(session, event.case_id) or _add(session, _new_case(event.case_id, event.tracking_code,
                                                                              event.unit_id.split("/")[0]))
        case.unit_id, case.unit_name, case.deadline_at = event.unit_id, event.unit_name, event.deadline_at
        case.confidential, case.about_employee = event.confidential, event.about_employee
        if case.stage not in OPEN:  # first routing, or routed again after a return: work starts afresh
            case.stage, case.closed_at = Stage.in_progress, None
        _record(session, case, Actor("routing", "routing", event.unit_id), StepKind.routed, event.routed_at)

    async def on_moved(self, session: AsyncSession, envelope: Envelope) -> None:
        """Transferred to another agency or forwarded down: the new unit works on it, steps and stage stay."""
        event: CaseTransferred | CaseForwarded = envelope.data
        if (case := await _known(session, envelope)) is None:
            return
        case.unit_id, case.unit_name = event.unit_id, event.unit_name
        if isinstance(event, CaseTransferred):
            case.agency, case.deadline_at = event.agency, event.deadline_at
        _touch(session, case)

    async def on_closed(self, session: AsyncSession, envelope: Envelope) -> None:
        """Returned, rejected or archived: nothing more to work on."""
        if (case := await _known(session, envelope)) is None:
            return
        case.stage, case.closed_at = _CLOSING[type(envelope.data)], envelope.time
        _touch(session, case)

    async def on_reopened(self, session: AsyncSession, envelope: Envelope) -> None:
        """The citizen objected to the answer: back in progress at the same unit; earlier steps stay."""
        event: CaseReopened = envelope.data
        if (case := await _known(session, envelope)) is None:
            return
        case.stage, case.closed_at, case.reopenings = Stage.in_progress, None, event.reopenings
        _record(session, case, Actor("citizen", "citizen", case.unit_id or ""), StepKind.reopened, event.reopened_at)

    # --- the steps ----------------------------------------------------------------------------------

    async def respond(self, session: AsyncSession, case: WorkedCase, actor: Actor, text: str,
                      attachments: Sequence[str] = (), source: SourceRef | None = None) -> None:
        _require_open(case)
        now = self._clock.now()
        _record(session, case, actor, StepKind.response, now, text=text, attachments=list(attachments),
                source_system=source and source.system, source_ref=source and source.ref)
        _advance(case, Stage.responded)
        self._stage(session, ResponseSubmitted(**_about(case), by=actor.subject, source=source,
                                               attachments=len(attachments), submitted_at=now))

    async def request_information(self, session: AsyncSession, case: WorkedCase, actor: Actor, details: str) -> bool:
        """Ask the citizen (intake sends it); the deadline pauses where the agency's policy says so."""
        _require_open(case)
        if case.stage == Stage.awaiting_information:
            raise Refused("already_awaiting_information", "پیش‌تر از شهروند اطلاعات خواسته شده و هنوز دریافت نشده است.",
                          "Information was already requested and has not arrived; record it received first.")
        now = self._clock.now()
        paused = await pause_clock(session, case.case_id, now)
        _record(session, case, actor, StepKind.information_request, now, text=details, clock_paused=paused)
        case.stage = Stage.awaiting_information
        self._stage(session, InformationRequested(**_about(case), by=actor.subject, clock_paused=paused, requested_at=now))
        self._stage(session, NotificationRequested(case_id=case.case_id, tracking_code=case.tracking_code, params={"details": details},
                                                   template=NotificationTemplate.information_requested))
        return paused

    async def information_received(self, session: AsyncSession, case: WorkedCase, actor: Actor) -> None:
        if case.stage != Stage.awaiting_information:
            raise Refused("no_information_requested", "برای این پرونده اطلاعاتی از شهروند خواسته نشده است.",
                          f"The case is {case.stage}: no information request is waiting.")
        now = self._clock.now()
        request = await _last(session, case, (StepKind.information_request,))
        if request is not None and request.clock_paused:
            await resume_clock(session, case.case_id, now)
        _record(session, case, actor, StepKind.information_received, now)
        last = await _last(session, case, tuple(_STAGE_AFTER))
        case.stage = _STAGE_AFTER[StepKind(last.step)] if last else Stage.in_progress
        self._stage(session, InformationReceived(**_about(case), by=actor.subject, received_at=now))

    async def give_opinion(self, session: AsyncSession, case: WorkedCase, actor: Actor, text: str,
                           outcome: AnswerOutcome) -> None:
        _require_open(case)
        now = self._clock.now()
        _record(session, case, actor, StepKind.opinion, now, text=text, outcome=outcome.value)
        _advance(case, Stage.opinion_given)
        self._stage(session, OpinionGiven(**_about(case), by=actor.subject, proposed_outcome=outcome, given_at=now))

    async def record_inspection(self, session: AsyncSession, case: WorkedCase, actor: Actor, findings: str,
                                attachments: Sequence[str] = ()) -> None:
        _require_open(case)
        now = self._clock.now()
        _record(session, case, actor, StepKind.field_inspection, now, text=findings, attachments=list(attachments))
        self._stage(session, FieldInspectionRecorded(**_about(case), by=actor.subject, inspected_at=now))

    async def approve(self, session: AsyncSession, case: WorkedCase, actor: Actor, answer_fa: str,
                      outcome: AnswerOutcome, legal_grounds: str) -> None:
        """The final answer: to the citizen (intake), to SAMAD (the gateway); the ladder stops."""
        await _require_decidable(session, case)
        now = self._clock.now()
        _record(session, case, actor, StepKind.approval, now, text=answer_fa, outcome=outcome.value, legal_grounds=legal_grounds)
        case.stage, case.closed_at = Stage.answered, now
        self._stage(session, CaseAnswered(**_about(case), outcome=outcome, answer_fa=answer_fa, legal_grounds=legal_grounds,
                                          answered_at=now))

    async def return_for_rework(self, session: AsyncSession, case: WorkedCase, actor: Actor, reason: str) -> None:
        await _require_decidable(session, case)
        now = self._clock.now()
        _record(session, case, actor, StepKind.rework, now, text=reason)
        case.stage = Stage.rework
        self._stage(session, AnswerReturnedForRework(**_about(case), by=actor.subject, returned_at=now))

    # --- a unit's response sent by its agency's system on hub.inbound.v1 ------------------------------

    async def on_submit_response(self, session: AsyncSession, envelope: Envelope) -> None:
        command: SubmitResponse = envelope.data
        if await _sent_before(session, command.source):
            log.info("response %s:%s already recorded", command.source.system, command.source.ref)
            return
        case = await find(session, command.case_id, for_update=True)
        try:
            text = _accepted(case, command)
            system = Actor(command.source.system, Role.agency_system.value, command.unit_id)
            await self.respond(session, case, system, text, command.attachments, source=command.source)
        except Refused as refusal:
            log.warning("response %s:%s refused: %s", command.source.system, command.source.ref, refusal.message_en)
            self._stage(session, ResponseRejected(
                case_id=command.case_id, tracking_code=command.tracking_code, source=command.source, reason_code=refusal.code,
                reason_fa=refusal.message_fa, reason_en=refusal.message_en, rejected_at=self._clock.now()))

    def _stage(self, session: AsyncSession, event) -> None:
        self._runtime.stage(session, event)


async def load_cases(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """The view of a batch's cases, in one query (`Subscription.prepare`): the batch's facts find them in it."""
    await preload(session, CASES, WorkedCase, WorkedCase.case_id, {envelope.data.case_id for envelope in envelopes})


def _add(session: AsyncSession, case: WorkedCase) -> WorkedCase:
    session.add(case)
    if (cases := preloaded(session, CASES)) is not None:
        cases[case.case_id] = case
    return case


async def find(session: AsyncSession, case_id, for_update: bool = False) -> WorkedCase | None:
    """In a consumer's batch, from the cases it loaded (and added). Otherwise a query, not session.get: it flushes,
    so a case added earlier in the same transaction is found. With `for_update`, concurrent steps on one case take
    turns (PostgreSQL; SQLite writes one at a time anyway)."""
    if not for_update and (cases := preloaded(session, CASES)) is not None:
        return cases.get(case_id)
    query = select(WorkedCase).where(WorkedCase.case_id == case_id)
    return (await session.exec(query.with_for_update() if for_update else query)).first()


async def steps_of(session: AsyncSession, case_id) -> Sequence[WorkStep]:
    return (await session.exec(select(WorkStep).where(WorkStep.case_id == case_id).order_by(col(WorkStep.id)))).all()


def _new_case(case_id, tracking_code: str, agency: str, **fields) -> WorkedCase:
    now = datetime.now(UTC)
    return WorkedCase(case_id=case_id, tracking_code=tracking_code, agency=agency, stage=Stage.registered,
                      created_at=now, updated_at=now, **fields)


async def _known(session: AsyncSession, envelope: Envelope) -> WorkedCase | None:
    case = await find(session, envelope.data.case_id)
    if case is None:
        log.warning("%s for a case follow-up never saw routed; ignored", envelope.type)
    return case


def _touch(session: AsyncSession, case: WorkedCase) -> None:
    case.updated_at = datetime.now(UTC)
    session.add(case)


def _about(case: WorkedCase) -> dict:
    return {"case_id": case.case_id, "tracking_code": case.tracking_code, "unit_id": case.unit_id}


def _record(session: AsyncSession, case: WorkedCase, actor: Actor, kind: StepKind, at: datetime, **fields) -> None:
    add_row(session, WorkStep, {"case_id": case.case_id, "step": kind, "unit_id": case.unit_id or "", "actor": actor.subject,
                                "actor_role": actor.role, "actor_unit": actor.unit, "at": at, **fields})
    _touch(session, case)


def _advance(case: WorkedCase, stage: Stage) -> None:
    """Work goes on while the citizen is asked for information; the case stays waiting for it."""
    if case.stage != Stage.awaiting_information:
        case.stage = stage


def _require_open(case: WorkedCase) -> None:
    if case.stage not in OPEN:
        raise Refused("case_not_open", "این پرونده در جریان رسیدگی نیست (پاسخ داده، اعاده، مردود یا بایگانی شده است).",
                      f"The case is {case.stage}, not in progress; nothing more can be done on it unless it is reopened.")


async def _require_decidable(session: AsyncSession, case: WorkedCase) -> None:
    """The manager decides on work done since the case was last routed, reopened or returned for rework."""
    _require_open(case)
    if case.stage == Stage.awaiting_information:
        raise Refused("awaiting_information", "از شهروند اطلاعات خواسته شده است؛ پس از دریافت آن تصمیم بگیرید.",
                      "Information requested from the citizen has not arrived; record it received before deciding.")
    since = await _last(session, case, _ROUND_STARTS)
    work = select(WorkStep.id).where(WorkStep.case_id == case.case_id, col(WorkStep.id) > (since.id if since else 0),
                                     col(WorkStep.step).in_([StepKind.response, StepKind.opinion]))
    if (await session.exec(work.limit(1))).first() is None:
        raise Refused("nothing_to_approve", "هنوز پاسخ واحد یا نظر کارشناس ثبت نشده است.",
                      "There is no unit response and no expert opinion to decide on "
                      "(since the case was routed, reopened or sent back for rework).")


async def _last(session: AsyncSession, case: WorkedCase, kinds: tuple[StepKind, ...]) -> WorkStep | None:
    query = select(WorkStep).where(WorkStep.case_id == case.case_id, col(WorkStep.step).in_(kinds))
    return (await session.exec(query.order_by(col(WorkStep.id).desc()).limit(1))).first()


async def _sent_before(session: AsyncSession, source: SourceRef) -> bool:
    query = select(WorkStep.id).where(WorkStep.source_system == source.system, WorkStep.source_ref == source.ref)
    return (await session.exec(query.limit(1))).first() is not None


def _accepted(case: WorkedCase | None, command: SubmitResponse) -> str:
    """The response's text if the case exists, is open and is held by the sending unit or below it."""
    if case is None or case.unit_id is None or case.tracking_code != command.tracking_code:
        raise Refused("unknown_case", "پرونده‌ای با این شناسه و کد رهگیری در جریان رسیدگی نیست.",
                      f"No routed case has id {command.case_id} and tracking code {command.tracking_code}.")
    _require_open(case)
    if not (case.unit_id == command.unit_id or case.unit_id.startswith(command.unit_id + "/")):
        raise Refused("not_held_by_unit", "این پرونده در دست واحد فرستنده یا واحدهای زیرمجموعه آن نیست.",
                      f"The case is held by {case.unit_id}, not by {command.unit_id} or a unit below it.")
    try:
        return clean_text(command.text)
    except ValueError as invalid:
        raise Refused("invalid_text", "متن پاسخ نامعتبر است (نویسه‌های کنترلی یا متن خالی).",
                      f"The text is invalid: {invalid}.") from None
