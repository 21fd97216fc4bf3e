"""Case work for staff over HTTP: the unit's inbox, the steps on a case up to the approved final answer,
and the steps taken so far. The role decides which steps one may take; the organisation tree,
confidentiality and the rule that nobody works on a case about themself decide on which cases."""

import unicodedata
from dataclasses import replace
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import false, or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_followup.casework import OPEN, Actor, CaseWork, Refused, StepKind, clean_text, find, steps_of
from hub_followup.casework_models import WorkedCase
from hub_shared.access import CASE_ACTIONS, CaseAction
from hub_shared.auth import (AUTH_RESPONSES, UNIT_PATTERN, Forbidden, Principal, Role, Scope, check_case_access, in_subtree,
                             requires)
from hub_shared.events import AnswerOutcome, AttachmentRef
from hub_shared.events.casework import MAX_ATTACHMENTS, MAX_WORK_TEXT
from hub_shared.events.notifications import MAX_PARAM_CHARS, check_params
from hub_shared.service import Runtime, problem
from hub_shared.text import normalize_text

OPEN_STAGES = tuple(stage.value for stage in OPEN)
OpenStage = Literal[OPEN_STAGES]  # type: ignore[valid-type]
RESPONDERS = CASE_ACTIONS[CaseAction.respond]
EXPERTS = CASE_ACTIONS[CaseAction.request_information] | CASE_ACTIONS[CaseAction.information_received]
OPINION_GIVERS = CASE_ACTIONS[CaseAction.give_opinion]
INSPECTORS = CASE_ACTIONS[CaseAction.record_inspection]
APPROVERS = CASE_ACTIONS[CaseAction.decide]

NOT_FOUND = {404: {"description": "No routed case has this id"}}
CONFLICT = {409: {"description": "The case's stage does not allow this step (closed, waiting for information, "
                                  "nothing to approve); the body says why"}}
STEP_RESPONSES: dict[int | str, dict] = {**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT}


def _details(value: str) -> str:
    """Shown to the citizen in an SMS: one paragraph, no personal data."""
    text = normalize_text(value)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise ValueError("control characters are not allowed")
    if not text.endswith((".", "؟", "?", "!")):
        text += "."  # the SMS goes on after it
    return check_params({"details": text})["details"]


WorkText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_WORK_TEXT), AfterValidator(clean_text)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(clean_text)]
LegalGrounds = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(clean_text)]
Details = Annotated[str, StringConstraints(min_length=5, max_length=MAX_PARAM_CHARS), AfterValidator(_details)]
Attachments = Annotated[list[AttachmentRef], Field(default_factory=list, max_length=MAX_ATTACHMENTS, description=(
    "ids of the case's attachments in intake, or `sha256:<hex>` of documents the agency keeps; follow-up stores no files"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponseBody(_Body):
    text: WorkText
    attachments: Attachments


class InformationRequestBody(_Body):
    details: Details = Field(description="what the office needs; sent to the citizen by SMS, so no personal data")


class OpinionBody(_Body):
    text: WorkText
    proposed_outcome: AnswerOutcome


class InspectionBody(_Body):
    findings: WorkText
    attachments: Attachments


class Approve(_Body):
    decision: Literal["approve"]
    answer_fa: WorkText = Field(description="the final answer the citizen reads")
    outcome: AnswerOutcome
    legal_grounds: LegalGrounds


class ReturnForRework(_Body):
    decision: Literal["rework"]
    reason: Reason


class StepDone(BaseModel):
    case_id: UUID
    step: StepKind
    stage: str
    clock_paused: bool | None = Field(None, description="information requests: whether the answer deadline stopped")


class InboxItem(BaseModel):
    case_id: UUID
    tracking_code: str
    case_number: str | None
    channel: str | None
    topic_id: str | None
    unit_id: str
    unit_name: str | None
    agency: str
    kind: str | None
    confidential: bool
    deadline_at: datetime | None
    stage: str
    reopenings: int
    updated_at: datetime


class InboxPage(BaseModel):
    items: list[InboxItem]
    total: int
    overdue: int = Field(description="of the total, the cases whose deadline has passed")
    tabs: dict[str, int] = Field(description=(
        "counts for the cartable's tabs under every filter but the stage and `overdue`: `all`, `overdue` and each open stage"))
    limit: int
    offset: int


class StepView(BaseModel):
    step: str
    at: datetime
    actor: str
    actor_role: str
    actor_unit: str
    unit_id: str
    text: str | None
    outcome: str | None
    legal_grounds: str | None
    attachments: list[str]
    clock_paused: bool | None
    source_system: str | None
    source_ref: str | None


class CaseWorkView(BaseModel):
    case_id: UUID
    tracking_code: str
    unit_id: str
    unit_name: str | None
    stage: str
    deadline_at: datetime | None
    reopenings: int
    steps: list[StepView]


def router(runtime: Runtime, work: CaseWork) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["case work"])
    may_read = requires(runtime.auth, Scope.cases_read)

    def acting(what: str, what_fa: str, roles: frozenset[Role]) -> Callable[..., Awaitable[Principal]]:
        async def dependency(principal: Annotated[Principal, Depends(may_read)]) -> Principal:
            if principal.role not in roles:
                who = ", ".join(sorted(role.value for role in roles))
                raise Forbidden(f"Role {principal.role.value} cannot {what}; that is for {who}.",
                                f"{what_fa} در نقش شما ({principal.role.value}) تعریف نشده است.")
            return principal
        return dependency

    async def take(case_id: UUID, principal: Principal, step: StepKind,
                   act: Callable[[AsyncSession, WorkedCase, Actor], Awaitable[bool | None]]) -> StepDone:
        async with runtime.sessions() as session, session.begin():
            case = await workable(session, case_id, principal, for_update=True)
            try:
                paused = await act(session, case, Actor.of(principal))
            except Refused as refusal:
                raise HTTPException(409, detail=problem(refusal.code, refusal.message_fa, refusal.message_en)["error"]) from None
        runtime.committed()
        return StepDone(case_id=case_id, step=step, stage=case.stage, clock_paused=paused)

    @api.get("/inbox", response_model=InboxPage, responses=AUTH_RESPONSES)
    async def inbox(principal: Annotated[Principal, Depends(may_read)], limit: int = Query(50, ge=1, le=200),
                    offset: int = Query(0, ge=0, le=1_000_000),
                    tracking_code: str | None = Query(None, pattern=r"^[0-9]{11}$", description="only the case with this tracking code"),
                    case_number: str | None = Query(None, pattern=r"^[0-9]{4}-[0-9]{8}$", description="only the case with this case number"),
                    kind: str | None = Query(None, max_length=32, description="only cases of this kind (complaint, request, ...)"),
                    topic: str | None = Query(None, max_length=64, description="only cases of this topic (an id of the topic list)"),
                    channel: str | None = Query(None, max_length=32, description="only cases that arrived through this channel"),
                    unit: str | None = Query(None, max_length=200, pattern=UNIT_PATTERN,
                                             description="only cases held by this unit or below it (within the caller's)"),
                    stage: OpenStage | None = Query(None, description="only cases at this stage"),
                    overdue: bool = Query(False, description="only cases whose deadline has passed")) -> InboxPage:
        """Open cases held by the caller's unit and the units below it: the overdue first, then the nearest
        deadline (cases without one last). `total` and `overdue` count every case the filters match; `tabs`
        counts them per stage under the other filters."""
        now = datetime.now(UTC)
        not_about_caller = or_(col(WorkedCase.about_employee).is_(None), WorkedCase.about_employee != principal.subject)
        query = select(WorkedCase).where(col(WorkedCase.stage).in_(OPEN), in_subtree(col(WorkedCase.unit_id), principal),
                                         not_about_caller)
        if Scope.cases_confidential not in principal.scopes:
            query = query.where(WorkedCase.confidential == false())
        if unit is not None:
            query = query.where(in_subtree(col(WorkedCase.unit_id), replace(principal, unit=unit)))
        for column, value in ((WorkedCase.tracking_code, tracking_code), (WorkedCase.case_number, case_number),
                              (WorkedCase.kind, kind), (WorkedCase.topic_id, topic), (WorkedCase.channel, channel)):
            if value is not None:
                query = query.where(column == value)
        tabbed = query.subquery()
        if stage is not None:
            query = query.where(WorkedCase.stage == stage)
        if overdue:
            query = query.where(col(WorkedCase.deadline_at) < now)
        matched = query.subquery()
        async with runtime.sessions() as session:
            total, late = (await session.exec(select(func.count(), func.count().filter(matched.c.deadline_at < now))
                                              .select_from(matched))).one()
            per_stage = (await session.exec(select(tabbed.c.stage, func.count(), func.count().filter(tabbed.c.deadline_at < now))
                                            .group_by(tabbed.c.stage))).all()
            cases = (await session.exec(query.order_by(col(WorkedCase.deadline_at).is_(None), col(WorkedCase.deadline_at),
                                                       col(WorkedCase.case_id)).offset(offset).limit(limit))).all()
        tabs = {"all": sum(row[1] for row in per_stage), "overdue": sum(row[2] for row in per_stage),
                **{value: 0 for value in OPEN_STAGES}, **{row[0]: row[1] for row in per_stage}}
        return InboxPage(items=[InboxItem.model_validate(case, from_attributes=True) for case in cases],
                         total=total, overdue=late, tabs=tabs, limit=limit, offset=offset)

    @api.get("/cases/{case_id}/work", response_model=CaseWorkView, responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def case_work(case_id: UUID, principal: Annotated[Principal, Depends(may_read)]) -> CaseWorkView:
        """The steps taken on the case so far (who, when, what), oldest first."""
        async with runtime.sessions() as session:
            case = await workable(session, case_id, principal)
            steps = await steps_of(session, case_id)
        return CaseWorkView(**case.model_dump(include=set(CaseWorkView.model_fields) - {"steps"}),
                            steps=[StepView.model_validate(step, from_attributes=True) for step in steps])

    @api.post("/cases/{case_id}/response", status_code=201, response_model=StepDone, responses=STEP_RESPONSES)
    async def respond(case_id: UUID, body: ResponseBody,
                      principal: Annotated[Principal, Depends(acting("respond", "ثبت پاسخ واحد", RESPONDERS))]) -> StepDone:
        """The unit's response, with references to its documents."""
        return await take(case_id, principal, StepKind.response,
                          lambda session, case, actor: work.respond(session, case, actor, body.text, body.attachments))

    @api.post("/cases/{case_id}/information-request", status_code=201, response_model=StepDone, responses=STEP_RESPONSES)
    async def request_information(case_id: UUID, body: InformationRequestBody, principal: Annotated[
            Principal, Depends(acting("request information", "درخواست اطلاعات از شهروند", EXPERTS))]) -> StepDone:
        """Ask the citizen for more information (intake sends it); the deadline pauses if the agency's policy says so."""
        return await take(case_id, principal, StepKind.information_request,
                          lambda session, case, actor: work.request_information(session, case, actor, body.details))

    @api.post("/cases/{case_id}/information-received", status_code=201, response_model=StepDone,
              responses={**AUTH_RESPONSES, **NOT_FOUND, **CONFLICT})
    async def information_received(case_id: UUID, principal: Annotated[
            Principal, Depends(acting("record information received", "ثبت دریافت اطلاعات", EXPERTS))]) -> StepDone:
        """The citizen's information arrived; a paused deadline runs again."""
        return await take(case_id, principal, StepKind.information_received, work.information_received)

    @api.post("/cases/{case_id}/opinion", status_code=201, response_model=StepDone, responses=STEP_RESPONSES)
    async def give_opinion(case_id: UUID, body: OpinionBody, principal: Annotated[
            Principal, Depends(acting("give the expert opinion", "ثبت نظر کارشناسی", OPINION_GIVERS))]) -> StepDone:
        return await take(case_id, principal, StepKind.opinion,
                          lambda session, case, actor: work.give_opinion(session, case, actor, body.text, body.proposed_outcome))

    @api.post("/cases/{case_id}/field-inspection", status_code=201, response_model=StepDone, responses=STEP_RESPONSES)
    async def record_inspection(case_id: UUID, body: InspectionBody, principal: Annotated[
            Principal, Depends(acting("record a field inspection", "ثبت بررسی میدانی", INSPECTORS))]) -> StepDone:
        return await take(case_id, principal, StepKind.field_inspection, lambda session, case, actor: work.record_inspection(
            session, case, actor, body.findings, body.attachments))

    @api.post("/cases/{case_id}/approval", status_code=201, response_model=StepDone, responses=STEP_RESPONSES)
    async def decide(case_id: UUID, body: Annotated[Approve | ReturnForRework, Field(discriminator="decision")],
                     principal: Annotated[Principal, Depends(acting("approve answers", "تأیید پاسخ نهایی", APPROVERS))]) -> StepDone:
        """Approve the final answer (it goes to the citizen and to SAMAD), or return the work for rework with a reason."""
        if isinstance(body, Approve):
            return await take(case_id, principal, StepKind.approval, lambda session, case, actor: work.approve(
                session, case, actor, body.answer_fa, body.outcome, body.legal_grounds))
        return await take(case_id, principal, StepKind.rework,
                          lambda session, case, actor: work.return_for_rework(session, case, actor, body.reason))

    return api


async def workable(session: AsyncSession, case_id: UUID, principal: Principal, for_update: bool = False) -> WorkedCase:
    """The routed case, if `principal` may see it (404 when there is none, 403 with the reason when they may not)."""
    case = await find(session, case_id, for_update)
    if case is None or case.unit_id is None:
        raise HTTPException(404, detail=problem("unknown_case", "پرونده‌ای با این شناسه در جریان پیگیری نیست.",
                                                f"No routed case has id {case_id}.")["error"])
    check_case_access(principal, str(case_id), case.unit_id, case.confidential, case.about_employee)
    return case
