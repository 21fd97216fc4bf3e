"""The change feed for supervising bodies and the case timeline for ops."""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlmodel import col, select

from hub_reporting.access import Unprocessable, reader
from hub_reporting.models import CaseFact, CaseHistoryEntry, CaseStatus, StatusChange
from hub_reporting.settings import ReportingSettings
from hub_shared.auth import AUTH_RESPONSES, Principal, Scope, check_case_access, in_subtree, requires
from hub_shared.jalali import as_utc, to_jalali
from hub_shared.service import Runtime
from hub_shared.tracking import parse_tracking_code


class Change(BaseModel):
    tracking_code: str
    case_id: uuid.UUID
    status: str
    unit_id: str
    event_type: str
    at: datetime
    at_jalali: str


class ChangePage(BaseModel):
    changes: list[Change]
    next_cursor: str  # pass it back to continue; it is returned even when the page is empty
    has_more: bool


class TimelineItem(BaseModel):
    event_id: str
    event_type: str
    service: str
    status: str
    at_utc: datetime
    at_jalali: str
    note_fa: str
    note_en: str
    trace_id: str | None
    trace_url: str | None


class Timeline(BaseModel):
    case_id: uuid.UUID
    tracking_code: str
    status: str
    events: list[TimelineItem]


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        version, _, seq = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if version == "v1" and seq.isdigit():
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Unprocessable("bad_cursor", "نشانگر (cursor) نامعتبر است؛ همان مقدار next_cursor پاسخ قبلی را بفرستید.",
                        "The cursor is not one this feed gave out; send back the previous page's next_cursor, or none to start over.")


def router(runtime: Runtime, settings: ReportingSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["status"])
    may_pull = requires(runtime.auth, Scope.status_read)
    may_read = reader(runtime)

    @api.get("/changes", response_model=ChangePage, responses={
        **AUTH_RESPONSES, 422: {"description": "The cursor is not one this feed gave out"}})
    async def changes(principal: Annotated[Principal, Depends(may_pull)],
                      cursor: Annotated[str | None, Query(max_length=64)] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      latest: Annotated[bool, Query(description=(
                          "the last `limit` changes after the cursor, newest first (a person's view of what just "
                          "happened); `has_more`: older ones are left out; `next_cursor` continues after the newest"))] = False,
                      ) -> ChangePage:
        """Every status change since `cursor`, in reporting's commit order, within the caller's subtree."""
        after = decode_cursor(cursor)
        order = col(StatusChange.seq).desc() if latest else col(StatusChange.seq)
        async with runtime.sessions() as session:
            rows = (await session.exec(select(StatusChange).where(StatusChange.seq > after, in_subtree(StatusChange.unit_id, principal))
                                       .order_by(order).limit(limit + 1))).all()
        page = rows[:limit]
        newest = max((r.seq for r in page), default=after)
        return ChangePage(changes=[Change(tracking_code=r.tracking_code, case_id=r.case_id, status=r.status, unit_id=r.unit_id,
                                          event_type=r.event_type, at=as_utc(r.occurred_at), at_jalali=to_jalali(r.occurred_at))
                                   for r in page],
                          next_cursor=encode_cursor(newest), has_more=len(rows) > limit)

    @api.get("/cases/{case_ref}/timeline", response_model=Timeline, responses={
        **AUTH_RESPONSES, 404: {"description": "No case has this id or tracking code"}})
    async def timeline(case_ref: str, principal: Annotated[Principal, Depends(may_read)]) -> Timeline:
        """Every event of a case in order, by case id or tracking code."""
        async with runtime.sessions() as session:
            status = await _find(session, case_ref)
            fact = await session.get(CaseFact, status.case_id)
            check_case_access(principal, status.tracking_code, status.unit_id or "", fact.confidential if fact else False,
                              fact.about_employee if fact else None)
            history = (await session.exec(select(CaseHistoryEntry).where(CaseHistoryEntry.case_id == status.case_id)
                                          .order_by(col(CaseHistoryEntry.occurred_at)))).all()
        link = lambda trace: settings.trace_url_template.format(trace_id=trace) if trace else None  # noqa: E731
        return Timeline(case_id=status.case_id, tracking_code=status.tracking_code, status=status.status, events=[
            TimelineItem(event_id=h.event_id, event_type=h.event_type, service=h.source, status=h.status, at_utc=as_utc(h.occurred_at),
                         at_jalali=to_jalali(h.occurred_at), note_fa=h.note_fa, note_en=h.note_en, trace_id=h.trace_id,
                         trace_url=link(h.trace_id)) for h in history])

    return api


async def _find(session, case_ref: str) -> CaseStatus:
    status = None
    try:
        status = (await session.exec(select(CaseStatus).where(CaseStatus.case_id == uuid.UUID(case_ref)))).first()
    except ValueError:
        status = await session.get(CaseStatus, parse_tracking_code(case_ref) or case_ref)
    if status is None:
        raise NotFound()
    return status


class NotFound(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=404, detail={"code": "unknown_case", "message_fa": "پرونده‌ای با این شناسه یا کد رهگیری یافت نشد.",
                                                  "message_en": "No case has this id or tracking code."})
