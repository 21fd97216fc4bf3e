"""Follow a case: the tracking code with the national ID, the phone or (anonymous reports) the access code,
always POSTed, so none of them reaches a URL or an access log. The answer page is rendered from that POST;
once there is a final answer it offers accepting it, objecting to it with new documents (the case is reopened)
and rating how it was handled, each a POST carrying the same proof."""

from datetime import datetime

from fastapi import APIRouter, Request

from hub_shared.calendar import Calendars
from hub_web.attachments import chosen_files, upload
from hub_web.forms import FieldErrors, ascii_code, intake_refusal
from hub_web.i18n import language, pick
from hub_web.persian import now_utc, parse_moment
from hub_web.places import name_in
from hub_web.portal import Portal
from hub_web.upstream import Unavailable

PROOFS = ("national_id", "phone", "access_code")
FORM_FIELDS = {"tracking_code", "proof", "objection", "score", "attachments"}


def router(portal: Portal, calendars: Calendars) -> APIRouter:
    api = APIRouter()

    def form_page(request: Request, values: dict, errors: FieldErrors | None = None, status: int = 200, **extra):
        return portal.render(request, "follow.html", status=status, values=values, errors=errors.messages if errors else {}, **extra)

    async def case_page(request: Request, case: dict, proof: dict, errors: FieldErrors | None = None, status: int = 200, notice: str = ""):
        unit_name, unit_lang = await _unit_name(case, language(request))
        return portal.render(request, "case.html", status=status, case=case, proof=proof, errors=errors.messages if errors else {},
                             working_days_left=working_days_left(calendars, case), notice=notice,
                             unit_name=unit_name, unit_lang=unit_lang, policy=await portal.upstream.attachment_policy())

    async def _unit_name(case: dict, lang: str) -> tuple[str | None, str]:
        """The handling unit's name in the page's language: intake keeps the Persian name it was referred under;
        routing names the unit in English (the Persian name stands when routing has no English one or is away)."""
        if not case.get("unit_name"):
            return None, lang
        if lang == "fa" or not case.get("unit_id"):
            return case["unit_name"], "fa"
        try:
            names = await portal.upstream.unit_name(case["unit_id"])
        except Unavailable:
            names = None
        return name_in(names, lang) if names and names.get("name_en") else (case["unit_name"], "fa")

    async def tracked(request: Request, form, proof: dict, refusal=None, notice: str = "", errors: FieldErrors | None = None):
        """The case page for this proof (with the reason `refusal` gave, or `errors`, if any), or the form again with
        the reason."""
        answer = await portal.intake(request, "/api/v1/cases/track", proof)
        if answer.status != 200:
            return _refusal(request, form, answer)
        if refusal is not None:
            errors = portal.errors(request)
            intake_refusal(refusal.body, errors, FORM_FIELDS)
        if errors:
            return await case_page(request, answer.body, proof, errors, status=refusal.status if refusal else 422)
        return await case_page(request, answer.body, proof, notice=notice)

    def _refusal(request: Request, form, answer):
        errors = portal.errors(request)
        if answer.status == 404:
            errors.add("proof", _no_match(errors.lang))
        elif answer.status == 429:
            errors.add("form", _locked(errors.lang))
        else:
            intake_refusal(answer.body, errors, FORM_FIELDS | set(PROOFS))
            errors.messages = {("proof" if name in PROOFS else name): text for name, text in errors.messages.items()}
        return form_page(request, _values(form), errors, status=answer.status if answer.status >= 400 else 422)

    @api.get("/follow")
    async def follow_form(request: Request):
        return form_page(request, {"proof_kind": "national_id"})

    @api.post("/follow")
    async def follow_case(request: Request):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        proof, errors = _proof(form, portal.errors(request))
        if errors:
            return form_page(request, _values(form), errors, status=422)
        try:
            return await tracked(request, form, proof)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")

    @api.post("/follow/{action}")
    async def act_on_answer(request: Request, action: str):
        """accept | reopen | rate: the citizen's answer to the final answer, then the case page again."""
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        proof, errors = _proof(form, portal.errors(request))
        extra = {"reopen": {"objection": str(form.get("objection") or "").strip()},
                 "rate": {"score": _score(form.get("score"))}, "accept": {}}.get(action)
        if errors or extra is None:
            return form_page(request, _values(form), errors, status=422)
        try:
            files = await chosen_files(form, await portal.upstream.attachment_policy(), errors) if action == "reopen" else []
            if errors:
                return await tracked(request, form, proof, errors=errors)
            answer = await portal.intake(request, f"/api/v1/cases/track/{action}", proof | extra)
            if answer.status != 202:
                return await tracked(request, form, proof, refusal=answer)
            notice = pick((answer.body["message_fa"], answer.body["message_en"]), language(request))
            if refused_files := await upload(portal, request, proof, files):
                notice += " " + pick(("این پیوست‌ها پذیرفته نشد:", "These files were refused:"), language(request)) + " " + "، ".join(refused_files)
            return await tracked(request, form, proof, notice=notice)
        except Unavailable:
            return portal.render(request, "problem.html", status=503, problem="unavailable")

    return api


def _proof(form, errors: FieldErrors) -> tuple[dict, FieldErrors]:
    code = ascii_code(str(form.get("tracking_code") or ""))
    kind = str(form.get("proof_kind") or "national_id")
    given = ascii_code(str(form.get("proof") or ""))
    if len(code) != 11 or not code.isdigit():
        errors.add("tracking_code")
    if kind not in PROOFS or not given:
        errors.add("proof")
    return {"tracking_code": code, kind if kind in PROOFS else "national_id": given}, errors


def _values(form) -> dict:
    return {name: str(form.get(name) or "") for name in ("tracking_code", "proof_kind", "proof")}


def _score(value) -> int | None:
    text = ascii_code(str(value or ""))
    return int(text) if text.isdigit() else None


def working_days_left(calendars: Calendars, case: dict, now: datetime | None = None) -> int | None:
    """Working days from today to the deadline on the working calendar of the unit holding the case, which intake's
    tracking answer names as routing did (the standard calendar when it names none, or one this deployment lacks)."""
    if not case.get("deadline_at"):
        return None
    return calendars.named(case.get("calendar")).working_days_between(now or now_utc(), parse_moment(case["deadline_at"]))


def _no_match(lang: str) -> str:
    return ("پرونده‌ای با این کد رهگیری و این کد ملی، شماره تلفن یا رمز پیگیری یافت نشد؛ هر دو را دوباره بررسی کنید."
            if lang == "fa" else "No case matches this tracking code with this national ID, phone or access code; check both.")


def _locked(lang: str) -> str:
    return ("به دلیل تلاش‌های نادرست پیاپی، پیگیری این کد چند دقیقه بسته شده است؛ ۱۵ دقیقه دیگر دوباره تلاش کنید."
            if lang == "fa" else "After repeated wrong attempts, following this code is paused; try again in 15 minutes.")
