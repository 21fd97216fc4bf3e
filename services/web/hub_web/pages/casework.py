"""The work on a case, on the staff's case page: the steps taken so far (followup), the follow-up ladder, the case's
attachments (intake, downloaded through the portal with the user's token), and the forms of the steps the user's
role may take (`hub_web.casework`). A form posts to the service that owns the step with the user's own token; a
refusal comes back on a page of its own with every answer kept and the service's reason; a step taken leads to a
page that says so (post, redirect, get). Only the case's id and the step's name are in any URL."""

import base64
import hashlib
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from hub_shared.access import ROLE_SCOPES, Scope
from hub_shared.reasons import REJECT_REASONS, RETURN_REASONS
from hub_shared.reference import topics
from hub_shared.users import User
from hub_web.casework import ACTIONS, OUTCOMES, Action, check, form_values, offered, service_refusal
from hub_web.forms import FieldErrors, media_type_of
from hub_web.i18n import language, pick
from hub_web.pages.staff import STAGES
from hub_web.portal import Portal
from hub_web.staff_auth import COOKIE, Session
from hub_web.upstream import Unavailable

STEPS = {
    "routed": ("ارجاع به واحد", "Referred to the unit"), "response": ("پاسخ واحد", "Unit's response"),
    "information_request": ("درخواست اطلاعات از شهروند", "Information requested"),
    "information_received": ("دریافت اطلاعات شهروند", "Information received"), "opinion": ("نظر کارشناسی", "Expert opinion"),
    "field_inspection": ("بررسی میدانی", "Field inspection"), "rework": ("بازگشت برای اصلاح", "Sent back for rework"),
    "approval": ("تأیید پاسخ نهایی", "Final answer approved"), "reopened": ("بازگشایی به اعتراض شهروند", "Reopened on objection"),
}
LADDER = {
    "reminder": ("یادآوری {n} روز کاری پیش از مهلت", "Reminder {n} working days before the deadline"),
    "answer_deadline": ("پایان مهلت و پیگیری اول", "Deadline and 1st follow-up"),
    "follow-up": ("پیگیری", "Follow-up"), "escalation": ("ارجاع به سطح بالاتر", "Escalation"),
    "repeat": ("پیگیری تکراری", "Repeated follow-up"),
}
TIMER_STATUSES = {
    "pending": ("در انتظار", "waiting"), "paused": ("متوقف (در انتظار اطلاعات شهروند)", "paused (waiting for the citizen)"),
    "fired": ("انجام شد", "done"), "cancelled": ("لغو شد", "cancelled"), "failed": ("ناموفق؛ با راهبر سامانه", "failed; with the operator"),
}
WORK_STAGES = {**STAGES, "answered": ("پاسخ داده شده", "Answered"), "returned": ("اعاده شده", "Returned"),
               "rejected": ("مردود", "Rejected"), "archived": ("بایگانی شده", "Archived"), "registered": ("ثبت شده", "Registered")}


def case_extras(portal: Portal):
    """What the case page shows of the work on the case, for `staff.router`."""

    async def extras(request: Request, user: User, case: dict) -> dict:
        token = portal.staff.token_for(user)
        case_id = case["case_id"]
        work, timers, files = (await _get(portal, "followup", f"/api/v1/cases/{case_id}/work", token, "/api/v1/cases/{case_id}/work"),
                               await _get(portal, "followup", f"/api/v1/cases/{case_id}/timers", token, "/api/v1/cases/{case_id}/timers"),
                               await _get(portal, "intake", f"/api/v1/cases/{case_id}/attachments", token, "/api/v1/cases/{case_id}/attachments"))
        actions = offered(user.role, _scopes(user))
        lang = language(request)
        return {"work": work, "timers": _ladder(timers, lang), "files": files.get("items") if files is not None else None,
                "actions": actions, "options": await _options(portal, token, case, actions, files, lang),
                "steps": {k: pick(v, lang) for k, v in STEPS.items()},
                "stages_shown": {k: pick(v, lang) for k, v in WORK_STAGES.items()}}

    return extras


def router(portal: Portal) -> APIRouter:
    api = APIRouter(prefix="/staff/cases/{case_id}")
    desk = portal.staff
    extras = case_extras(portal)

    def page(request: Request, template: str, who: tuple[User, Session], status: int = 200, **context) -> Response:
        response = portal.render(request, template, status=status, staff=who[0], **context)
        response.set_cookie(COOKIE, desk.cookie.seal(who[1]), httponly=True, samesite="strict", path="/staff",
                            secure=portal.settings.secure_cookies, max_age=desk.cookie.longest)
        return response

    def to_sign_in() -> Response:
        return RedirectResponse("/staff/sign-in", status_code=303)

    @api.post("/actions/{name}")
    async def act(request: Request, case_id: UUID, name: str):
        form = await request.form()
        if refused := await portal.forged(request, form):
            return refused
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        action = ACTIONS.get(name)
        if action is None:
            return page(request, "staff_problem.html", who, status=404, problem="not_found")
        if action not in offered(who[0].role, _scopes(who[0])):  # the service would refuse it too: nothing is sent
            return page(request, "staff_problem.html", who, status=403, problem="refused", body={"error": {
                "message_fa": f"«{action.title[0]}» در نقش شما تعریف نشده است.", "message_en": f"“{action.title[1]}” is not for your role."}})
        token = desk.token_for(who[0])
        try:
            case = await _get(portal, "intake", f"/api/v1/cases/{case_id}", token, "/api/v1/cases/{case_id}", strict=True)
            context = await extras(request, who[0], case)
            values, errors = form_values(action, form), portal.errors(request)
            check(action, values, context["options"], errors)
            uploads = await _chosen(portal, form, errors) if any(f.kind == "files" for f in action.fields) else []
            if not errors:
                status = await _take(portal, token, case_id, action, values, uploads, errors)
                if status is None:
                    return RedirectResponse(f"/staff/cases/{case_id}/done/{action.name}", status_code=303)
            else:
                status = 422
        except _Refused as refusal:
            if refusal.status == 401:
                return to_sign_in()
            problem = "not_found" if refusal.status == 404 else "refused"
            return page(request, "staff_problem.html", who, status=refusal.status, problem=problem, body=refusal.body)
        except Unavailable:
            return page(request, "staff_problem.html", who, status=503, problem="unavailable")
        return page(request, "staff_action.html", who, status=status, case=case, action=action, values=values,
                    errors=errors.messages, **context)

    @api.get("/done/{name}")
    async def done(request: Request, case_id: UUID, name: str):
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        if (action := ACTIONS.get(name)) is None:
            return page(request, "staff_problem.html", who, status=404, problem="not_found")
        return page(request, "staff_action_done.html", who, case_id=str(case_id), action=action)

    @api.get("/attachments/{attachment_id}")
    async def attachment(request: Request, case_id: UUID, attachment_id: UUID):
        """The file, from intake with the user's token (intake audits the read); never shown inline."""
        if (who := desk.user_of(request.cookies.get(COOKIE))) is None:
            return to_sign_in()
        route = "/api/v1/cases/{case_id}/attachments/{attachment_id}"
        answer = await portal.upstream.file_as_staff(f"/api/v1/cases/{case_id}/attachments/{attachment_id}", desk.token_for(who[0]), route)
        if answer is None or answer.status_code >= 500:
            return page(request, "staff_problem.html", who, status=503, problem="unavailable")
        if answer.status_code != 200:
            problem = "not_found" if answer.status_code == 404 else "refused"
            return page(request, "staff_problem.html", who, status=answer.status_code, problem=problem, body=_body(answer))
        return Response(answer.content, media_type=answer.headers.get("content-type", "application/octet-stream"), headers={
            "Content-Disposition": answer.headers.get("content-disposition", "attachment"), "X-Content-Type-Options": "nosniff"})

    return api


class _Refused(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(status)
        self.status, self.body = status, body


async def _get(portal: Portal, service: str, path: str, token: str, route: str, strict: bool = False) -> dict | None:
    """A service's answer for the user; None when it refused or did not answer (the page shows that part as unavailable),
    or with `strict`, the refusal raised."""
    try:
        answer = await portal.upstream.as_staff(getattr(portal.upstream, service), path, token, route)
    except Unavailable:
        if strict:
            raise
        return None
    if answer.status != 200:
        if strict:
            raise _Refused(answer.status, answer.body)
        return None
    return answer.body


async def _take(portal: Portal, token: str, case_id: UUID, action: Action, values: dict, uploads: list, errors: FieldErrors) -> int | None:
    """Sends the step to its service: None when taken; else the status, with the reason in `errors`."""
    upstream = portal.upstream
    if action.name == "attachment" or uploads:
        values["references"] = []
        for filename, media_type, content in uploads:
            stored = await upstream.send_as_staff(upstream.intake, "POST", f"/api/v1/cases/{case_id}/attachments", token,
                                                  "/api/v1/cases/{case_id}/attachments", {"filename": filename, "media_type": media_type,
                                                  "content_base64": base64.b64encode(content).decode()})
            if stored.status == 201:
                values["references"].append(stored.body["attachment_id"])
            elif stored.status == 403 and action.name != "attachment":  # the role keeps no files in the hub: the agency keeps it
                values["references"].append("sha256:" + hashlib.sha256(content).hexdigest())
            else:
                return _refusal(action, stored, errors)
        if action.name == "attachment":
            return None if uploads else _nothing_chosen(errors)
    answer = await upstream.send_as_staff(getattr(upstream, action.service), action.method, f"/api/v1/cases/{case_id}{action.path}",
                                          token, "/api/v1/cases/{case_id}" + action.path, action.body(values))
    if answer.status in (200, 201, 202):
        return None
    return _refusal(action, answer, errors)


def _refusal(action: Action, answer, errors: FieldErrors) -> int:
    if answer.status == 401:
        raise _Refused(401, answer.body)
    service_refusal(action, answer.body, errors)
    return answer.status


def _nothing_chosen(errors: FieldErrors) -> int:
    errors.add("documents", pick(("فایلی برای بارگذاری انتخاب کنید.", "Choose a file to upload."), errors.lang))
    return 422


async def _chosen(portal: Portal, form, errors: FieldErrors) -> list[tuple[str, str, bytes]]:
    """The files chosen, checked against intake's limits (size, and type by content) before anything is sent."""
    policy = await portal.upstream.attachment_policy()
    chosen = [item for item in form.getlist("documents") if isinstance(item, UploadFile) and item.filename]
    files = []
    for item in chosen:
        content = await item.read(policy["max_bytes"] + 1)
        media_type = media_type_of(content)
        if len(content) > policy["max_bytes"] or media_type not in policy["media_types"]:
            megabytes = policy["max_bytes"] // 1_000_000
            errors.add("documents", pick((f"فایل «{item.filename}» پذیرفته نشد: فقط PDF، JPEG، PNG یا TIFF تا {megabytes} مگابایت. دوباره انتخاب کنید.",
                                          f"The file “{item.filename}” was refused: only PDF, JPEG, PNG or TIFF up to {megabytes} MB. Choose it again."),
                                         errors.lang))
            continue
        files.append((item.filename, media_type, content))
    if files and errors:
        errors.add("documents", pick(("پس از اصلاح، فایل‌ها را دوباره انتخاب کنید.", "After correcting, choose the files again."), errors.lang))
    return files


async def _options(portal: Portal, token: str, case: dict, actions: list[Action], files: dict | None, lang: str) -> dict[str, dict]:
    """The choices of the forms offered: each select's values and their labels in the page's language."""
    names = {item.options for action in actions for item in action.fields}
    options: dict[str, dict] = {"outcomes": {k: pick(v, lang) for k, v in OUTCOMES.items()},
                                "return_reasons": {k: pick(v, lang) for k, v in RETURN_REASONS.items()},
                                "reject_reasons": {k: pick(v, lang) for k, v in REJECT_REASONS.items()},
                                "topics": {topic.id: topic.label_fa if lang == "fa" else topic.label_en for topic in topics()},
                                "attachments": {item["attachment_id"]: item["filename"] for item in (files or {}).get("items", [])}}
    if "agencies" in names:
        try:
            places = await portal.upstream.places()
        except Unavailable:
            places = {}
        options["agencies"] = {a["code"]: a["name_fa"] if lang == "fa" else a.get("name_en") or a["name_fa"]
                               for a in places.get("agencies", []) if a["code"] != case.get("agency")}
    if "units" in names and case.get("unit_id"):
        parent = case["unit_id"].rsplit("/", 1)[0]
        try:
            answer = await portal.upstream.as_staff(portal.upstream.routing, "/api/v1/org/units", token, "/api/v1/org/units", {"parent": parent})
            listed = answer.body.get("items", []) if answer.status == 200 else []
        except Unavailable:
            listed = []
        options["units"] = {u["id"]: u["name_fa"] if lang == "fa" else u.get("name_en") or u["name_fa"]
                            for u in listed if u["id"] != case["unit_id"]}
    return options


def _ladder(timers: dict | None, lang: str) -> list[dict] | None:
    if timers is None:
        return None
    rows = []
    for timer in timers.get("items", []):
        kind, _, number = timer["step"].rpartition("-") if timer["step"][-1:].isdigit() else (timer["step"], "", "")
        label = pick(LADDER.get(kind, (timer["step"], timer["step"])), lang)
        label = label.format(n=number) if "{n}" in label else f"{label} {number}".strip()
        rows.append({"label": label, "due_at": timer["due_at"], "unit_id": timer["unit_id"],
                     "status": pick(TIMER_STATUSES.get(timer["status"], (timer["status"], timer["status"])), lang),
                     "waiting": timer["status"] in ("pending", "paused")})
    return rows


def _scopes(user: User) -> frozenset[Scope]:
    """The scopes the user's token carries: those the registry names, else all of the role's."""
    return frozenset(user.scopes) or ROLE_SCOPES[user.role]


def _body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
