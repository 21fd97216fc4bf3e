"""File a case: one form for every kind, then the receipt. An anonymous misconduct report carries no
identity; its receipt shows the access code once. Attachments go to intake after the case is registered,
proved with the same tracking code and national ID (or access code) the citizen will follow it with."""

import base64
import logging

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from hub_web.forms import FieldErrors, case_payload, check_filing, filing_values, intake_refusal, media_type_of
from hub_web.persian import digits_for
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

log = logging.getLogger(__name__)
FORM_FIELDS = {"kind", "complainant_type", "organisation_name", "full_name", "national_id", "phone", "address", "email",
               "subject", "description", "agency", "province", "county", "anonymous", "attachments"}


def router(portal: Portal) -> APIRouter:
    api = APIRouter()

    async def form_page(request: Request, values: dict, errors: FieldErrors | None = None, status: int = 200):
        try:
            places, policy = await portal.upstream.places(), await portal.upstream.attachment_policy()
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        return portal.render(request, "file.html", status=status, values=values, errors=(errors.messages if errors else {}),
                             places=places, policy=policy)

    @api.get("/file")
    async def file_form(request: Request, kind: str = "complaint"):
        return await form_page(request, {"kind": kind})

    @api.post("/file")
    async def file_case(request: Request):
        if _declared_size(request) > portal.settings.max_upload_bytes:
            return portal.render(request, "problem.html", status=413, problem="too_large")
        form = await request.form(max_files=20, max_part_size=1024 * 1024)
        if refused := await portal.forged(request, form):
            return refused
        values, errors = filing_values(form), portal.errors(request)
        check_filing(values, errors)
        try:
            files = await _attachments(form, await portal.upstream.attachment_policy(), errors)
            if errors:
                return await form_page(request, values, errors, status=422)
            answer = await portal.intake(request, "/api/v1/cases", case_payload(values))
            if answer.status == 422:
                intake_refusal(answer.body, errors, FORM_FIELDS)
                return await form_page(request, values, errors, status=422)
            if answer.status not in (200, 201):
                return portal.render(request, "problem.html", status=answer.status, problem="refused", body=answer.body)
            refused_files = await _upload(portal, request, answer.body, values, files)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        return portal.render(request, "receipt.html", status=201, case=answer.body, refused_files=refused_files,
                             anonymous=bool(values["anonymous"]))

    return api


async def _attachments(form, policy: dict, errors: FieldErrors) -> list[tuple[str, str, bytes]]:
    """(name, type by content, content) of each file chosen, refusing what intake would refuse."""
    chosen = [item for item in form.getlist("attachments") if isinstance(item, UploadFile) and item.filename]
    if len(chosen) > policy["max_per_case"]:
        errors.add("attachments", _too_many(policy, errors.lang))
    files = []
    for item in chosen:
        content = await item.read(policy["max_bytes"] + 1)
        media_type = media_type_of(content)
        if len(content) > policy["max_bytes"] or media_type not in policy["media_types"]:
            errors.add("attachments", _bad_file(item.filename, policy, errors.lang))
            continue
        files.append((item.filename, media_type, content))
    return files


async def _upload(portal: Portal, request: Request, case: dict, values: dict, files: list[tuple[str, str, bytes]]) -> list[str]:
    """Each file to intake under the new case; the names intake refused (shown on the receipt)."""
    proof = {"access_code": case["access_code"]} if case.get("access_code") else {"national_id": case_payload(values)["national_id"]}
    refused = []
    for name, media_type, content in files:
        answer = await portal.intake(request, "/api/v1/cases/track/attachments", {
            "tracking_code": case["tracking_code"], **proof, "filename": name, "media_type": media_type,
            "content_base64": base64.b64encode(content).decode()})
        if answer.status != 201:
            log.warning("an attachment of case %s was refused: %s", case.get("case_number"), answer.body.get("error", {}).get("code"))
            refused.append(name)
    return refused


def _declared_size(request: Request) -> int:
    length = request.headers.get("content-length", "0")
    return int(length) if length.isdigit() else 0


def _too_many(policy: dict, lang: str) -> str:
    count = digits_for(lang, policy["max_per_case"])
    return f"حداکثر {count} پیوست می‌توانید بفرستید." if lang == "fa" else f"You may attach at most {count} files."


def _bad_file(name: str, policy: dict, lang: str) -> str:
    megabytes = digits_for(lang, policy["max_bytes"] // 1_000_000)
    if lang == "fa":
        return f"فایل «{name}» پذیرفته نشد: فقط PDF، JPEG، PNG یا TIFF تا {megabytes} مگابایت."
    return f"The file “{name}” was refused: only PDF, JPEG, PNG or TIFF up to {megabytes} MB."
