"""Scanned letters and documents of a case: uploaded by the citizen (proving the case is theirs as when
tracking it) or by staff entering the case, checked for type and size, stored with a SHA-256 content
hash (the same file twice is kept once), and read back only by staff who may see the case (audited)."""

import base64
import binascii
import hashlib
import unicodedata
from datetime import UTC, datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake.citizen import PROOF_RESPONSES, CitizenProof, TrackingRequest
from hub_intake.models import Attachment, Case
from hub_intake.settings import IntakeSettings
from hub_intake.staff import NOT_FOUND, audit, visible_case
from hub_shared.auth import AUTH_RESPONSES, Principal, Scope, requires
from hub_shared.service import Runtime

# what a scanned letter or document may be, and how its first bytes show it
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
MAX_PER_CASE = 10


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
    media_type: str = Field(description=f"one of {', '.join(SIGNATURES)}")
    content_base64: str = Field(min_length=4)

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = PureWindowsPath(PurePosixPath(value).name).name  # no folders, whichever separator
        if not name or any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
            raise ValueError("a file name without folders or control characters")
        return name


class CitizenUpload(TrackingRequest, Upload):
    """An attachment sent by the citizen: the case is found as when tracking it."""


class AttachmentView(BaseModel):
    attachment_id: UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str | None


def router(runtime: Runtime, settings: IntakeSettings, proof: CitizenProof) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["attachments"])
    may_submit = requires(runtime.auth, Scope.cases_submit)
    may_read = requires(runtime.auth, Scope.cases_read)
    refused = {413: {"description": "The file is larger than allowed"},
               415: {"description": "Not a PDF, JPEG, PNG or TIFF, or the content does not match its type"},
               422: {"description": "Malformed request, or the case has all the attachments it may have"}}

    @api.post("/cases/track/attachments", status_code=201, response_model=AttachmentView,
              responses={**PROOF_RESPONSES, **refused})
    async def citizen_attaches(upload: CitizenUpload, request: Request) -> AttachmentView:
        async with runtime.sessions() as session, session.begin():
            case = await proof.case(session, upload, request)
            return await _store(session, settings, case, upload, uploaded_by=None)

    @api.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentView,
              responses={**refused, **AUTH_RESPONSES, **NOT_FOUND})
    async def staff_attaches(case_id: UUID, upload: Upload,
                             principal: Annotated[Principal, Depends(may_submit)]) -> AttachmentView:
        async with runtime.sessions() as session, session.begin():
            case = await visible_case(session, case_id, principal)
            return await _store(session, settings, case, upload, uploaded_by=principal.subject)

    @api.get("/cases/{case_id}/attachments", response_model=list[AttachmentView], responses={**AUTH_RESPONSES, **NOT_FOUND})
    async def list_attachments(case_id: UUID, principal: Annotated[Principal, Depends(may_read)]) -> list[AttachmentView]:
        async with runtime.sessions() as session:
            await visible_case(session, case_id, principal)
            rows = (await session.exec(select(Attachment).where(Attachment.case_id == case_id)
                                       .order_by(col(Attachment.uploaded_at)))).all()
        return [AttachmentView.model_validate(row, from_attributes=True) for row in rows]

    @api.get("/cases/{case_id}/attachments/{attachment_id}", response_class=Response,
             responses={**AUTH_RESPONSES, **NOT_FOUND, 200: {"content": {media: {} for media in SIGNATURES},
                                                             "description": "The file as uploaded"}})
    async def read_attachment(case_id: UUID, attachment_id: UUID, principal: Annotated[Principal, Depends(may_read)]) -> Response:
        async with runtime.sessions() as session, session.begin():
            case = await visible_case(session, case_id, principal)
            row = await session.get(Attachment, attachment_id)
            if row is None or row.case_id != case_id:
                raise HTTPException(404, detail={"code": "unknown_attachment", "message_fa": "پیوست یافت نشد.",
                                                 "message_en": f"Case {case.case_number} has no attachment {attachment_id}."})
            audit(session, principal, case, "read_attachment", (f"attachment:{attachment_id}",), "case work")
            return Response(content=bytes(row.content), media_type=row.media_type, headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{_quoted(row.filename)}",
                "X-Content-Type-Options": "nosniff", "X-Content-SHA256": row.sha256})

    return api


async def _store(session: AsyncSession, settings: IntakeSettings, case: Case, upload: Upload, uploaded_by: str | None) -> AttachmentView:
    content = _content(upload, settings.max_attachment_bytes)
    digest = hashlib.sha256(content).hexdigest()
    existing = (await session.exec(select(Attachment).where(Attachment.case_id == case.case_id, Attachment.sha256 == digest))).first()
    if existing is not None:  # the same file again: keep it once
        return AttachmentView.model_validate(existing, from_attributes=True)
    held = (await session.exec(select(func.count()).select_from(Attachment).where(Attachment.case_id == case.case_id))).one()
    if held >= MAX_PER_CASE:
        raise HTTPException(422, detail={"code": "too_many_attachments", "message_fa": f"هر پرونده حداکثر {MAX_PER_CASE} پیوست دارد.",
                                         "message_en": f"A case holds at most {MAX_PER_CASE} attachments."})
    row = Attachment(attachment_id=uuid4(), case_id=case.case_id, filename=upload.filename, media_type=upload.media_type,
                     size=len(content), sha256=digest, content=content, uploaded_at=datetime.now(UTC), uploaded_by=uploaded_by)
    session.add(row)
    return AttachmentView.model_validate(row, from_attributes=True)


def _content(upload: Upload, limit: int) -> bytes:
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, detail={"code": "invalid_base64", "message_fa": "محتوای پیوست به‌درستی کدگذاری نشده است (base64).",
                                         "message_en": "content_base64 is not valid base64."}) from None
    if len(content) > limit:
        raise HTTPException(413, detail={"code": "attachment_too_large", "message_fa": f"حجم پیوست بیش از {limit // 1_000_000} مگابایت است.",
                                         "message_en": f"The file is larger than {limit} bytes."})
    signatures = SIGNATURES.get(upload.media_type)
    if signatures is None or not content.startswith(signatures):
        raise HTTPException(415, detail={"code": "unsupported_attachment",
                                         "message_fa": "فقط فایل PDF، JPEG، PNG یا TIFF پذیرفته می‌شود و محتوا باید با نوع اعلام‌شده بخواند.",
                                         "message_en": "Only PDF, JPEG, PNG or TIFF files, whose content matches the declared type."})
    return content


def _quoted(name: str) -> str:
    return quote(name, safe="")
