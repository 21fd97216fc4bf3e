"""What citizens do without an account: track their case (tracking code plus national ID or phone)
and rate a unit after a visit, anonymously."""

import hashlib
import hmac
import logging
import secrets
import unicodedata
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Self
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.utils import suppress_instrumentation
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake.casefile import announce
from hub_intake.models import Case, CaseHistory, Complainant, Objection
from hub_intake.ratings import RatingWriter
from hub_intake.settings import IntakeSettings
from hub_shared.events import Aspects, CaseArchived, CaseHandlingRated, CaseReopened
from hub_shared.events.describe import OUTCOME_FA, STATUS_FA
from hub_shared.jalali import TEHRAN, to_jalali
from hub_shared.ratelimit import RateLimiter, TooManyRequests, citizen_address, enforce
from hub_shared.reference import org_seed
from hub_shared.service import Runtime, problem
from hub_shared.text import normalize_digits, normalize_text
from hub_shared.tracking import parse_tracking_code

log = logging.getLogger(__name__)
FEEDBACK_PATH = "/api/v1/feedback"


class TrackingRequest(BaseModel):
    """POSTed, not put in the URL, so the national ID or phone never lands in an access log."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tracking_code: str = Field(min_length=11, max_length=20, description="کد رهگیری; Persian digits accepted")
    national_id: str | None = Field(None, min_length=10, max_length=20)
    phone: str | None = Field(None, min_length=8, max_length=20)
    access_code: str | None = Field(None, min_length=10, max_length=20, description="anonymous reports: the code given at registration")

    @field_validator("tracking_code", "national_id", "phone", "access_code")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        return normalize_digits(value) if value is not None else None

    @model_validator(mode="after")
    def _one_identifier(self) -> Self:
        if sum(value is not None for value in (self.national_id, self.phone, self.access_code)) != 1:
            raise ValueError("give exactly one of national_id, phone or access_code (کد ملی، شماره تلفن یا رمز پیگیری)")
        return self

    def identifier_hash(self, vault) -> tuple[str, str]:
        """(the column holding the stored hash, the keyed hash of what was given)"""
        if self.access_code is not None:
            return "access_code_hash", vault.lookup_hash(f"access-code:{self.access_code}")
        if self.national_id is not None:
            return "national_id_hash", vault.lookup_hash(self.national_id)
        return "phone_hash", vault.lookup_hash(self.phone)


class HistoryItem(BaseModel):
    status: str
    at: datetime
    at_jalali: str
    note_fa: str
    note_en: str


class AnswerView(BaseModel):
    outcome: str
    outcome_fa: str
    answer_fa: str
    legal_grounds: str
    answered_at: datetime
    answered_at_jalali: str


class TrackedCase(BaseModel):
    tracking_code: str
    case_number: str
    kind: str
    status: str
    status_fa: str
    registered_at: datetime
    registered_at_jalali: str
    unit_name: str | None
    unit_id: str | None = Field(None, description=(
        "the unit handling the case, once referred; routing's GET /api/v1/org/places/units/{unit} names it in English"))
    deadline_at: datetime | None
    deadline_jalali: str | None
    calendar: str | None = Field(None, description=(
        "the working calendar of the unit holding the case (`iran-standard`, `iran-thursday-working`), on which its "
        "working days are counted, as routing named it; null before referral or when routing named none: the standard one"))
    answer: AnswerView | None = Field(description="the final answer, once there is one")
    history: list[HistoryItem]


class HandlingRating(TrackingRequest):
    """How the case was handled, once answered: 1 (very poor) to 5 (very good)."""

    score: int = Field(ge=1, le=5)


class Reopening(TrackingRequest):
    """Reopening an answered case: the citizen's written objection (new documents go to /cases/track/attachments)."""

    objection: str = Field(min_length=20, max_length=5000)

    @field_validator("objection")
    @classmethod
    def _text(cls, value: str) -> str:
        text = normalize_text(value)
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
            raise ValueError("control characters are not allowed")
        return text


class Rating(BaseModel):
    """A visit's rating: nothing in it names the citizen."""

    model_config = ConfigDict(extra="forbid")

    unit_id: str = Field(min_length=1, max_length=200, description="the unit visited, as in the organisation tree")
    employee_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$", description="personnel code of the employee who served")
    score: int = Field(ge=1, le=5)
    aspects: Aspects = Aspects()


class Thanks(BaseModel):
    message_fa: str
    message_en: str


class CitizenProof:
    """Finds the case a citizen proves is theirs (tracking code plus national ID, phone or access code),
    under every abuse control of tracking: requests per address, failures per address and per code.
    A wrong identifier and an unknown code fail alike."""

    def __init__(self, runtime: Runtime, settings: IntakeSettings) -> None:
        self._requests = RateLimiter.allowing(runtime.settings.public_requests_per_minute, minutes=1)
        self._misses = RateLimiter.allowing(runtime.settings.lookup_misses_allowed, minutes=15)
        self._failures_per_code = RateLimiter.allowing(settings.tracking_failures_per_code, minutes=15)
        self._vault = settings.personal_data_vault
        self._address = citizen_address(settings.trusted_proxies)

    async def case(self, session: AsyncSession, proof: TrackingRequest, request: Request) -> Case:
        ip = self._address(request)
        enforce(self._requests, ip)
        if self._misses.exhausted(ip):
            raise TooManyRequests(self._misses.retry_after(ip))
        code = parse_tracking_code(proof.tracking_code)
        if code is None:
            self._misses.allow(ip)
            raise HTTPException(422, detail={
                "code": "mistyped_tracking_code", "message_fa": "کد رهگیری نادرست وارد شده است؛ ۱۱ رقم آن را دوباره بررسی کنید.",
                "message_en": "The tracking code is mistyped; check its 11 digits.", "field": "tracking_code"})
        if self._failures_per_code.exhausted(code):
            raise TooManyRequests(self._failures_per_code.retry_after(code))
        found = (await session.exec(select(Case, Complainant).outerjoin(Complainant, col(Complainant.case_id) == col(Case.case_id))
                                    .where(Case.tracking_code == code, col(Case.linked_to).is_(None)))).first()
        column, given_hash = proof.identifier_hash(self._vault)
        holder = found and (found[0] if column == "access_code_hash" else found[1])
        if not hmac.compare_digest(getattr(holder, column, None) or "", given_hash):
            self._misses.allow(ip)
            self._failures_per_code.allow(code)
            raise HTTPException(404, detail={
                "code": "no_matching_case", "message_fa": "پرونده‌ای با این کد رهگیری و کد ملی (یا شماره تلفن یا رمز پیگیری) یافت نشد.",
                "message_en": "No case matches this tracking code and national ID (or phone, or access code)."})
        return found[0]


PROOF_RESPONSES: dict[int | str, dict] = {
    404: {"description": "No case matches this tracking code and national ID, phone or access code"},
    422: {"description": "The tracking code is mistyped, or the request is malformed"},
    429: {"description": "Too many requests or failed attempts, from this address or against this code"},
}


def router(runtime: Runtime, settings: IntakeSettings, proof: CitizenProof) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["citizens"])
    ratings = RateLimiter.allowing(settings.ratings_per_address_per_hour, minutes=60)
    address_salt = secrets.token_bytes(32)  # per process: the limiter remembers no address, only a keyed hash of it
    units = {unit.id for unit in org_seed().units}
    rating_writer = RatingWriter(runtime)
    address = citizen_address(settings.trusted_proxies)

    @api.post("/cases/track", response_model=TrackedCase, responses=PROOF_RESPONSES)
    async def track_case(query: TrackingRequest, request: Request) -> TrackedCase:
        async with runtime.sessions() as session:
            case = await proof.case(session, query, request)
            history = (await session.exec(select(CaseHistory).where(CaseHistory.case_id == case.case_id)
                                          .order_by(col(CaseHistory.at), col(CaseHistory.id)))).all()
        return TrackedCase(
            tracking_code=case.tracking_code, case_number=case.case_number, kind=case.kind, status=case.status,
            status_fa=STATUS_FA.get(case.status, case.status), registered_at=case.registered_at,
            registered_at_jalali=to_jalali(case.registered_at), unit_name=case.unit_name,
            unit_id=case.unit_id if case.unit_name else None, deadline_at=case.deadline_at,
            deadline_jalali=to_jalali(case.deadline_at) if case.deadline_at else None, calendar=case.calendar, answer=_answer(case),
            history=[HistoryItem(status=item.status, at=item.at, at_jalali=to_jalali(item.at), note_fa=item.note_fa,
                                 note_en=item.note_en) for item in history],
        )

    @asynccontextmanager
    async def answered_case(body: TrackingRequest, request: Request):
        """The citizen's answered case, in a transaction the caller adds its fact to."""
        async with runtime.sessions() as session, session.begin():
            case = await proof.case(session, body, request)
            _require_answered(case)
            yield session, case, datetime.now(UTC)
        runtime.committed()

    @api.post("/cases/track/reopen", status_code=202, response_model=Thanks,
              responses={**PROOF_RESPONSES, 409: {"description": "The case has no answer to object to (or it is archived)"}})
    async def reopen_case(body: Reopening, request: Request) -> Thanks:
        """Object to the final answer: the case goes back to the office with its history."""
        async with answered_case(body, request) as (session, case, now):
            earlier = (await session.exec(select(func.count()).select_from(Objection).where(Objection.case_id == case.case_id))).one()
            session.add(Objection(case_id=case.case_id, text=body.objection, at=now))
            reopened = CaseReopened(case_id=case.case_id, tracking_code=case.tracking_code, reopenings=earlier + 1, reopened_at=now)
            await announce(session, runtime, case, reopened, now, event_id=f"{reopened.event_type}:{now.isoformat()}")
        return Thanks(message_fa=f"اعتراض شما ثبت شد و پرونده {case.case_number} دوباره بررسی می‌شود.",
                      message_en=f"Your objection was recorded; case {case.case_number} will be examined again.")

    @api.post("/cases/track/accept", status_code=202, response_model=Thanks,
              responses={**PROOF_RESPONSES, 409: {"description": "The case has no answer to accept (or it is archived)"}})
    async def accept_answer(body: TrackingRequest, request: Request) -> Thanks:
        """Accept the final answer: the case is archived."""
        async with answered_case(body, request) as (session, case, now):
            archived = CaseArchived(case_id=case.case_id, tracking_code=case.tracking_code, archived_at=now)
            await announce(session, runtime, case, archived, now, event_id=f"{archived.event_type}:{now.isoformat()}")
        return Thanks(message_fa=f"پرونده {case.case_number} بایگانی شد. سپاس از همراهی شما.",
                      message_en=f"Case {case.case_number} is archived. Thank you.")

    @api.post("/cases/track/rate", status_code=202, response_model=Thanks,
              responses={**PROOF_RESPONSES, 409: {"description": "Not answered yet, or already rated"}})
    async def rate_handling(body: HandlingRating, request: Request) -> Thanks:
        """Rate how the case was handled, once it has its answer; once per case."""
        async with runtime.sessions() as session, session.begin():
            case = await proof.case(session, body, request)
            if case.answered_at is None or case.handling_score is not None:
                raise HTTPException(409, detail={
                    "code": "not_ratable", "message_fa": "پرونده هنوز پاسخ نهایی ندارد یا پیش‌تر ارزیابی شده است.",
                    "message_en": "Only an answered case can be rated, once."})
            now = datetime.now(UTC)
            case.handling_score = body.score
            session.add(case)
            runtime.stage(session, CaseHandlingRated(case_id=case.case_id, tracking_code=case.tracking_code, unit_id=case.unit_id,
                                                     score=body.score, rated_at=now))
        runtime.committed()
        return Thanks(message_fa="ارزیابی شما ثبت شد. سپاسگزاریم.", message_en="Your rating was recorded. Thank you.")

    @api.post("/feedback", status_code=202, response_model=Thanks, responses={
        422: {"description": "Unknown unit, or a score outside 1-5"},
        429: {"description": "Too many ratings from this address"}})
    async def rate_visit(rating: Rating, request: Request) -> Thanks | JSONResponse:
        """Rate a unit (and optionally one of its employees) after a visit. Kept: the unit, the employee code,
        the scores and the day. Not kept: who, the address, the time of day; no trace or log line is written."""
        enforce(ratings, hashlib.blake2b(address(request).encode(), key=address_salt).hexdigest())
        if rating.unit_id not in units:
            return JSONResponse(status_code=422, content=problem(
                "unknown_unit", "واحد مورد نظر در ساختار سازمانی یافت نشد.",
                "The unit is not in the organisation tree.", field="unit_id"))
        with suppress_instrumentation():  # not even a SQL span: its start time would date the visit
            await rating_writer.submit({"rating_id": uuid4(), "unit_id": rating.unit_id, "employee_id": rating.employee_id,
                                        "score": rating.score, **rating.aspects.model_dump(), "rated_on": datetime.now(TEHRAN).date()})
        return Thanks(message_fa="نظر شما بدون نام ثبت شد. سپاسگزاریم.",
                      message_en="Your rating was recorded anonymously. Thank you.")

    return api


def _answer(case: Case) -> AnswerView | None:
    if case.answered_at is None:
        return None
    return AnswerView(outcome=case.answer_outcome, outcome_fa=OUTCOME_FA.get(case.answer_outcome, case.answer_outcome),
                      answer_fa=case.answer_fa, legal_grounds=case.legal_grounds, answered_at=case.answered_at,
                      answered_at_jalali=to_jalali(case.answered_at))


def _require_answered(case: Case) -> None:
    if case.status != "answered":
        raise HTTPException(409, detail={
            "code": "not_answered", "message_fa": "این پرونده پاسخ نهایی ندارد که بتوان آن را پذیرفت یا به آن اعتراض کرد.",
            "message_en": f"The case is {case.status}: only an answered case can be accepted or reopened."})
