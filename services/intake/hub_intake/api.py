"""Intake's HTTP entry point: citizens file cases."""

import logging
from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub_intake.domain import CaseSubmission, Rejection
from hub_intake.registration import register
from hub_intake.settings import IntakeSettings
from hub_shared.jalali import to_jalali, to_jalali_words
from hub_shared.logs import case_context
from hub_shared.ratelimit import RateLimiter, client_ip, enforce
from hub_shared.service import Runtime, problem


log = logging.getLogger(__name__)


class Registration(BaseModel):
    case_id: UUID
    case_number: str
    tracking_code: str
    registered_at: datetime
    registered_at_jalali: str
    follow_up_phone: str
    message_fa: str
    message_en: str


def router(runtime: Runtime, settings: IntakeSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["cases"])
    per_address = RateLimiter.allowing(runtime.settings.public_requests_per_minute, minutes=1)
    per_citizen = RateLimiter.allowing(settings.submissions_per_citizen_per_day, minutes=24 * 60)

    @api.post("/cases", status_code=201, response_model=Registration,
              responses={400: {"description": "The body cannot be parsed (not UTF-8, or nested too deeply)"},
                         422: {"description": "The submission breaks a registration rule; the body says which"},
                         429: {"description": "Too many submissions from this address or for this national ID"}})
    async def submit_case(submission: CaseSubmission, request: Request) -> Registration | JSONResponse:
        enforce(per_address, client_ip(request))
        enforce(per_citizen, settings.personal_data_vault.lookup_hash(submission.national_id))
        try:
            case = await register(runtime, settings, submission)
        except Rejection as rejection:
            return JSONResponse(status_code=422, content=problem(rejection.code, rejection.message_fa, rejection.message_en, field=rejection.field))
        with case_context(str(case.case_id)):
            log.info("case %s registered (%s, %s)", case.case_number, case.kind, case.channel)
            return Registration(
                case_id=case.case_id,
                case_number=case.case_number,
                tracking_code=case.tracking_code,
                registered_at=case.registered_at,
                registered_at_jalali=to_jalali(case.registered_at),
                follow_up_phone=settings.follow_up_phone,
                message_fa=(f"درخواست شما با شماره {case.case_number} در تاریخ {to_jalali_words(case.registered_at)} ثبت شد. "
                            f"کد رهگیری: {case.tracking_code}. برای پیگیری با {settings.follow_up_phone} تماس بگیرید."),
                message_en=(f"Your case {case.case_number} was registered. Tracking code: {case.tracking_code}. "
                            f"Call {settings.follow_up_phone} to follow it up."),
            )

    return api
