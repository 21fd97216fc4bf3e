"""Intake's HTTP entry point: citizens file cases, and staff enter cases for citizens."""

import logging
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hub_intake.domain import CaseSubmission, Rejection
from hub_intake.registration import GroupCommit, Origin, Outcome
from hub_intake.settings import IntakeSettings
from hub_shared.auth import AUTH_RESPONSES, Forbidden, NotAuthenticated, Principal, Scope, optional_principal
from hub_shared.events import Channel
from hub_shared.jalali import to_jalali, to_jalali_words
from hub_shared.logs import case_context
from hub_shared.ratelimit import RateLimiter, citizen_address, enforce
from hub_shared.service import Runtime, problem

log = logging.getLogger(__name__)
ASSISTED_CHANNELS = frozenset({Channel.phone_111, Channel.in_person, Channel.letter, Channel.official_trip,
                               Channel.face_to_face, Channel.email})


class CaseFiling(CaseSubmission):
    """A submission over HTTP: citizens use the web channel; staff holding `cases:submit` enter a case for a
    citizen who called 111, wrote a letter, came in person, met a manager or spoke on an official trip."""

    channel: Channel = Channel.web


class Registration(BaseModel):
    case_id: UUID
    case_number: str
    tracking_code: str
    registered_at: datetime
    registered_at_jalali: str
    follow_up_phone: str
    linked: bool = Field(False, description="the matter was already open: this is that case, and the submission was linked to it")
    access_code: str | None = Field(None, description="anonymous reports only: with the tracking code, the only way to follow the report")
    message_fa: str
    message_en: str


def router(runtime: Runtime, settings: IntakeSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["cases"])
    per_address = RateLimiter.allowing(runtime.settings.public_requests_per_minute, minutes=1)
    per_citizen = RateLimiter.allowing(settings.submissions_per_citizen_per_day, minutes=24 * 60)
    caller = optional_principal(runtime.auth)
    registrar = GroupCommit(runtime, settings)
    address = citizen_address(settings.trusted_proxies)

    @api.post("/cases", status_code=201, response_model=Registration,
              responses={**AUTH_RESPONSES,
                         200: {"description": "The same matter is already open: the answer is that case", "model": Registration},
                         422: {"description": "The submission breaks a registration rule; the body says which"},
                         429: {"description": "Too many submissions from this address or for this national ID"}})
    async def submit_case(filing: CaseFiling, request: Request,
                          principal: Annotated[Principal | None, Depends(caller)]) -> Registration | JSONResponse:
        origin = _origin(filing, principal)
        if principal is None:
            enforce(per_address, address(request))
        if filing.national_id is not None:
            enforce(per_citizen, settings.personal_data_vault.lookup_hash(filing.national_id))
        try:
            outcome = await registrar.register(CaseSubmission(**filing.model_dump(exclude={"channel"})), origin)
        except Rejection as rejection:
            extra = {"earlier_tracking_code": rejection.earlier_tracking_code} if rejection.earlier_tracking_code else {}
            return JSONResponse(status_code=422, content=problem(rejection.code, rejection.message_fa, rejection.message_en,
                                                                 field=rejection.field, **extra))
        case = outcome.case
        with case_context(str(case.case_id)):
            log.info("case %s %s (%s, %s)", case.case_number, "linked" if outcome.linked else "registered", case.kind, origin.channel.value)
            registration = Registration(
                case_id=case.case_id, case_number=case.case_number, tracking_code=case.tracking_code,
                registered_at=case.registered_at, registered_at_jalali=to_jalali(case.registered_at),
                follow_up_phone=settings.follow_up_phone, linked=outcome.linked, access_code=outcome.access_code,
                **_message(case, outcome, settings.follow_up_phone))
            if outcome.linked:
                return JSONResponse(status_code=200, content=registration.model_dump(mode="json"))
            return registration

    return api


def _origin(filing: CaseFiling, principal: Principal | None) -> Origin:
    if principal is None:
        if filing.channel is not Channel.web:
            raise NotAuthenticated(f"Only staff (a token with {Scope.cases_submit.value}) enter cases from channel {filing.channel.value}.")
        return Origin()
    if Scope.cases_submit not in principal.scopes:
        raise Forbidden(f"This token ({principal.role.value}) does not grant {Scope.cases_submit.value}.",
                        f"این دسترسی ({Scope.cases_submit.value}) برای نقش شما تعریف نشده است.")
    if filing.channel not in ASSISTED_CHANNELS:
        raise Forbidden(f"Staff enter cases from {sorted(c.value for c in ASSISTED_CHANNELS)}, not {filing.channel.value}.",
                        "کارکنان فقط پرونده‌های تلفنی، حضوری، نامه، سفر مسئولان و ملاقات را از این راه ثبت می‌کنند.")
    return Origin(channel=filing.channel, entered_by=principal.subject)


def _message(case, outcome: Outcome, phone: str) -> dict[str, str]:
    if outcome.linked:
        return {"message_fa": f"این موضوع پیش‌تر با کد رهگیری {case.tracking_code} ثبت شده و در حال رسیدگی است؛ درخواست شما به همان پرونده پیوست شد.",
                "message_en": f"This matter is already registered under tracking code {case.tracking_code} and is being handled; "
                              "your submission was linked to it."}
    fa = (f"درخواست شما با شماره {case.case_number} در تاریخ {to_jalali_words(case.registered_at)} ثبت شد. "
          f"کد رهگیری: {case.tracking_code}. برای پیگیری با {phone} تماس بگیرید.")
    en = f"Your case {case.case_number} was registered. Tracking code: {case.tracking_code}. Call {phone} to follow it up."
    if outcome.access_code:
        fa += f" رمز پیگیری گزارش بی‌نام شما: {outcome.access_code} — آن را نگه دارید؛ بدون آن پیگیری ممکن نیست."
        en += f" Access code of your anonymous report: {outcome.access_code}. Keep it: without it the report cannot be followed."
    return {"message_fa": fa, "message_en": en}
