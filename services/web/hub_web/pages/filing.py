"""File a case: one form for every kind, then the receipt. An anonymous misconduct report carries no
identity; its receipt shows the access code once. Attachments go to intake after the case is registered,
proved with the same tracking code and national ID (or access code) the citizen will follow it with."""

from fastapi import APIRouter, Request

from hub_web.attachments import chosen_files, upload
from hub_web.forms import FieldErrors, case_payload, check_filing, filing_values, intake_refusal
from hub_web.i18n import language
from hub_web.places import localised
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

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
                             places=localised(places, language(request)), policy=policy)

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
            files = await chosen_files(form, await portal.upstream.attachment_policy(), errors)
            if errors:
                return await form_page(request, values, errors, status=422)
            answer = await portal.intake(request, "/api/v1/cases", case_payload(values))
            if answer.status == 422:
                intake_refusal(answer.body, errors, FORM_FIELDS)
                return await form_page(request, values, errors, status=422)
            if answer.status not in (200, 201):
                return portal.render(request, "problem.html", status=answer.status, problem="refused", body=answer.body)
            case = answer.body
            proof = {"access_code": case["access_code"]} if case.get("access_code") else {"national_id": case_payload(values)["national_id"]}
            refused_files = await upload(portal, request, {"tracking_code": case["tracking_code"], **proof}, files)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")
        return portal.render(request, "receipt.html", status=201, case=answer.body, refused_files=refused_files,
                             anonymous=bool(values["anonymous"]))

    return api


def _declared_size(request: Request) -> int:
    length = request.headers.get("content-length", "0")
    return int(length) if length.isdigit() else 0
