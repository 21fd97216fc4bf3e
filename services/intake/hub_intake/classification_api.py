"""Staff confirm or correct the topic intake suggested for a case. Each decision is kept with the case's
text as training data for the classifier and published as `case classified` (labels only)."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from hub_intake.classify import case_text
from hub_intake.models import ClassificationCorrection
from hub_intake.settings import IntakeSettings
from hub_intake.staff import NOT_FOUND, visible_case
from hub_shared.access import CASE_ACTIONS, CaseAction
from hub_shared.auth import AUTH_RESPONSES, Forbidden, Principal, Scope, requires
from hub_shared.events import CaseClassified
from hub_shared.reference import topics
from hub_shared.service import Runtime

CLASSIFIERS = CASE_ACTIONS[CaseAction.classify]


class TopicChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=64, description="a topic id of hub_shared/reference/topics.yaml")


class Classified(BaseModel):
    case_id: UUID
    topic: str
    previous_topic: str | None
    confirmed: bool = Field(description="the topic stayed what it was")
    classified_by: str
    classified_at: datetime


def router(runtime: Runtime, settings: IntakeSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["staff"])
    may_read_cases = requires(runtime.auth, Scope.cases_read)

    @api.put("/cases/{case_id}/classification", response_model=Classified,
             responses={**AUTH_RESPONSES, **NOT_FOUND, 422: {"description": "Not a topic id; the body lists the ids"}})
    async def classify_case(case_id: UUID, choice: TopicChoice,
                            principal: Annotated[Principal, Depends(may_read_cases)]) -> Classified:
        """Confirm the case's topic or set another; experts, office managers and inspectors of the case's units."""
        _may_classify(principal)
        _known_topic(choice.topic)
        now = datetime.now(UTC)
        async with runtime.sessions() as session, session.begin():
            case = await visible_case(session, case_id, principal)
            previous = case.topic
            session.add(ClassificationCorrection(case_id=case.case_id, suggested=previous, corrected=choice.topic,
                                                 corrected_by=principal.subject, at=now,
                                                 text=case_text(case.subject_text, case.description)))
            case.topic, case.topic_confirmed_by = choice.topic, principal.subject
            session.add(case)
            runtime.stage(session, CaseClassified(case_id=case.case_id, tracking_code=case.tracking_code, topic_id=choice.topic,
                                                  previous_topic_id=previous, confirmed=choice.topic == previous,
                                                  by=principal.subject, classified_at=now))
        runtime.committed()
        return Classified(case_id=case_id, topic=choice.topic, previous_topic=previous, confirmed=choice.topic == previous,
                          classified_by=principal.subject, classified_at=now)

    return api


def _may_classify(principal: Principal) -> None:
    if principal.role not in CLASSIFIERS:
        raise Forbidden(f"Role {principal.role.value} cannot classify cases; experts, office managers and inspectors can.",
                        "تعیین موضوع پرونده با کارشناس، مدیر دفتر یا بازرس است و از نقش شما برنمی‌آید.")


def _known_topic(topic: str) -> None:
    ids = [known.id for known in topics()]
    if topic not in ids:
        raise HTTPException(422, detail={"code": "unknown_topic", "topics": ids,
                                         "message_fa": f"موضوع «{topic}» در فهرست موضوع‌ها نیست؛ یکی از شناسه‌های فهرست را بفرستید.",
                                         "message_en": f"{topic!r} is not a topic id; send one of the ids listed in 'topics'."})
