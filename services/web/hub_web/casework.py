"""The steps staff take on a case, as forms: what each asks for, which service's API takes it, and the body sent.

Who may take a step is `hub_shared.access.CASE_ACTIONS`, the table the services check; the case page offers a
role only its own forms, and the service still decides (its refusal is shown as it gave it). The portal checks
only what a user can fix in the form (a field left empty, too long, a choice not offered), in their language."""

from collections.abc import Callable
from dataclasses import dataclass

from hub_shared.access import CASE_ACTIONS, CaseAction, Role, Scope
from hub_shared.events import AnswerOutcome

from hub_web.forms import FieldErrors
from hub_web.i18n import pick

MAX_WORK_TEXT = 20_000  # followup's limit on a step's text
OUTCOMES = {AnswerOutcome.upheld.value: ("وارد است", "Upheld"), AnswerOutcome.partly_upheld.value: ("بخشی وارد است", "Partly upheld"),
            AnswerOutcome.not_upheld.value: ("وارد نیست", "Not upheld"),
            AnswerOutcome.not_within_mandate.value: ("خارج از صلاحیت", "Outside the agency's mandate")}


@dataclass(frozen=True)
class Field:
    name: str
    label: tuple[str, str]
    advice: tuple[str, str]  # shown beside the field when it is refused: how to fix it
    kind: str = "textarea"  # textarea, select, files (new documents), picks (the case's attachments)
    least: int = 1
    most: int = MAX_WORK_TEXT
    optional: bool = False
    options: str = ""  # select: the name of its options in the page's context


@dataclass(frozen=True)
class Action:
    name: str  # the form's path segment
    title: tuple[str, str]
    button: tuple[str, str]
    service: str  # followup, routing or intake
    method: str
    path: str  # after /api/v1/cases/{case_id}
    body: Callable[[dict], dict]
    fields: tuple[Field, ...] = ()
    step: CaseAction | None = None  # who may: the roles of this step, or
    scope: Scope | None = None  # the holders of this scope
    notice: tuple[str, str] | None = None
    done: tuple[str, str] = ("ثبت شد.", "Recorded.")


def _text(name: str, label: tuple[str, str], least: int = 1, most: int = MAX_WORK_TEXT, optional: bool = False) -> Field:
    fa = f"{label[0]} را بنویسید ({_fa(least)} تا {_fa(most)} حرف)." if not optional else f"{label[0]} حداکثر {_fa(most)} حرف است."
    en = f"Write the {label[1].lower()} ({least} to {most} characters)." if not optional else f"The {label[1].lower()} is at most {most} characters."
    return Field(name, label, (fa, en), least=0 if optional else least, most=most, optional=optional)


def _choice(name: str, label: tuple[str, str], options: str) -> Field:
    return Field(name, label, (f"{label[0]} را از فهرست انتخاب کنید.", f"Choose the {label[1].lower()} from the list."),
                 kind="select", options=options)


def _fa(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


DOCUMENTS = Field("documents", ("مدارک (PDF، JPEG، PNG یا TIFF)", "Documents (PDF, JPEG, PNG or TIFF)"),
                  ("فایل پذیرفته نشد.", "The file was refused."), kind="files", optional=True)
PICKS = Field("attachments", ("پیوست‌های پرونده که به آن‌ها استناد می‌شود", "The case's attachments it relies on"),
              ("پیوست انتخاب‌شده از این پرونده نیست.", "A chosen attachment is not one of this case's."), kind="picks", optional=True)


def _documents(values: dict) -> list[str]:
    return [*values.get("attachments", []), *values.get("references", [])]


ACTIONS = {action.name: action for action in (
    Action("response", ("پاسخ واحد", "The unit's response"), ("ثبت پاسخ واحد", "Record the response"), "followup", "POST", "/response",
           lambda v: {"text": v["text"], "attachments": _documents(v)},
           (_text("text", ("متن پاسخ", "Response")), DOCUMENTS, PICKS), step=CaseAction.respond,
           done=("پاسخ واحد ثبت شد.", "The unit's response was recorded.")),
    Action("information-request", ("درخواست اطلاعات بیشتر از شهروند", "Ask the citizen for more information"),
           ("ارسال درخواست", "Send the request"), "followup", "POST", "/information-request", lambda v: {"details": v["details"]},
           (_text("details", ("اطلاعات لازم", "Information needed"), 5, 500),), step=CaseAction.request_information,
           notice=("این متن با پیامک برای شهروند فرستاده می‌شود؛ اطلاعات هویتی در آن ننویسید.",
                   "This text is sent to the citizen by SMS; write no personal data in it."),
           done=("درخواست اطلاعات برای شهروند فرستاده شد.", "The request for information was sent to the citizen.")),
    Action("information-received", ("دریافت اطلاعات شهروند", "The citizen's information arrived"),
           ("ثبت دریافت اطلاعات", "Record it received"), "followup", "POST", "/information-received", lambda v: {},
           step=CaseAction.information_received, done=("دریافت اطلاعات ثبت شد.", "The information was recorded as received.")),
    Action("opinion", ("نظر کارشناسی", "The expert's opinion"), ("ثبت نظر کارشناسی", "Record the opinion"), "followup", "POST", "/opinion",
           lambda v: {"text": v["text"], "proposed_outcome": v["proposed_outcome"]},
           (_text("text", ("نظر کارشناس", "Opinion")), _choice("proposed_outcome", ("نتیجه پیشنهادی", "Proposed outcome"), "outcomes")),
           step=CaseAction.give_opinion, done=("نظر کارشناسی ثبت شد.", "The expert's opinion was recorded.")),
    Action("field-inspection", ("بررسی میدانی", "Field inspection"), ("ثبت یافته‌های بررسی میدانی", "Record the findings"), "followup",
           "POST", "/field-inspection", lambda v: {"findings": v["findings"], "attachments": _documents(v)},
           (_text("findings", ("یافته‌های بررسی", "Findings")), DOCUMENTS, PICKS), step=CaseAction.record_inspection,
           done=("یافته‌های بررسی میدانی ثبت شد.", "The field inspection was recorded.")),
    Action("approval", ("تأیید پاسخ نهایی", "Approve the final answer"), ("تأیید و ارسال پاسخ نهایی", "Approve and send the final answer"),
           "followup", "POST", "/approval",
           lambda v: {"decision": "approve", "answer_fa": v["answer_fa"], "outcome": v["outcome"], "legal_grounds": v["legal_grounds"]},
           (_text("answer_fa", ("پاسخ نهایی به شهروند", "Final answer to the citizen")), _choice("outcome", ("نتیجه", "Outcome"), "outcomes"),
            _text("legal_grounds", ("مستند قانونی", "Legal grounds"), most=4000)), step=CaseAction.decide,
           notice=("پاسخ تأییدشده برای شهروند و مراجع نظارتی فرستاده می‌شود.", "The approved answer goes to the citizen and the supervising bodies."),
           done=("پاسخ نهایی تأیید و برای شهروند فرستاده شد.", "The final answer was approved and sent to the citizen.")),
    Action("rework", ("بازگرداندن برای اصلاح", "Send back for rework"), ("بازگرداندن برای اصلاح", "Send back for rework"), "followup",
           "POST", "/approval", lambda v: {"decision": "rework", "reason": v["reason"]},
           (_text("reason", ("دلیل بازگرداندن", "Reason"), most=2000),), step=CaseAction.decide,
           done=("کار برای اصلاح بازگردانده شد.", "The work was sent back for rework.")),
    Action("forward", ("ارجاع به واحد زیرمجموعه", "Refer down to a sub-unit"), ("ارجاع", "Refer"), "routing", "POST", "/forward",
           lambda v: {"unit_id": v["unit_id"], "reason": v["reason"]},
           (_choice("unit_id", ("واحد مقصد", "Unit"), "units"), _text("reason", ("دلیل ارجاع", "Reason"), 3, 1000)), step=CaseAction.move,
           notice=("مهلت پاسخ پرونده تغییر نمی‌کند.", "The answer deadline does not change."),
           done=("پرونده به واحد مقصد ارجاع شد.", "The case was referred to the unit.")),
    Action("transfer", ("انتقال به دستگاه دیگر", "Transfer to another agency"), ("انتقال پرونده", "Transfer the case"), "routing", "POST",
           "/transfer", lambda v: {"agency": v["agency"], "reason": v["reason"]},
           (_choice("agency", ("دستگاه مقصد", "Agency"), "agencies"), _text("reason", ("دلیل انتقال", "Reason"), 10, 1000)),
           step=CaseAction.move, notice=("مهلت پاسخ حفظ می‌شود: با انتقال، مهلت از نو آغاز نمی‌شود و دستگاه مقصد تا همان تاریخ پاسخ می‌دهد.",
                                         "The deadline is kept: it does not start again; the receiving agency answers by the same date."),
           done=("پرونده به دستگاه مقصد منتقل شد.", "The case was transferred to the other agency.")),
    Action("return", ("اعاده به مرجع ارجاع‌دهنده", "Return to the referring body"), ("اعاده پرونده", "Return the case"), "routing",
           "POST", "/return", lambda v: {"reason_code": v["reason_code"], "note": v["note"]},
           (_choice("reason_code", ("علت اعاده", "Reason"), "return_reasons"), _text("note", ("توضیح", "Note"), most=1000, optional=True)),
           step=CaseAction.move, done=("پرونده اعاده شد.", "The case was returned.")),
    Action("reject", ("رد پرونده (مردود)", "Reject the case"), ("رد پرونده", "Reject the case"), "routing", "POST", "/reject",
           lambda v: {"reason_code": v["reason_code"], "note": v["note"]},
           (_choice("reason_code", ("علت قانونی رد", "Legal reason"), "reject_reasons"),
            _text("note", ("توضیح برای سابقه پرونده", "Note for the record"), most=1000, optional=True)), step=CaseAction.reject,
           notice=("علت انتخاب‌شده به شهروند گفته می‌شود و پیگیری پرونده پایان می‌یابد؛ توضیح فقط در سابقه می‌ماند.",
                   "The citizen is told the reason chosen and the follow-up stops; the note stays in the record."),
           done=("پرونده رد شد و علت آن به شهروند اعلام می‌شود.", "The case was rejected; the citizen is told why.")),
    Action("classification", ("موضوع پرونده", "The case's topic"), ("ثبت موضوع", "Set the topic"), "intake", "PUT", "/classification",
           lambda v: {"topic": v["topic"]}, (_choice("topic", ("موضوع", "Topic"), "topics"),), step=CaseAction.classify,
           done=("موضوع پرونده ثبت شد.", "The topic was recorded.")),
    Action("attachment", ("افزودن سند به پرونده", "Add a document to the case"), ("بارگذاری سند", "Upload the document"), "intake",
           "POST", "/attachments", lambda v: {}, (DOCUMENTS,), scope=Scope.cases_submit,
           done=("سند به پرونده افزوده شد.", "The document was added to the case.")),
)}


def offered(role: Role, scopes: frozenset[Scope]) -> list[Action]:
    """The forms a user may use: the steps their role may take (the table the services check)."""
    return [action for action in ACTIONS.values()
            if (action.step is not None and role in CASE_ACTIONS[action.step]) or (action.scope is not None and action.scope in scopes)]


def form_values(action: Action, form) -> dict:
    values: dict = {}
    for item in action.fields:
        if item.kind == "picks":
            values[item.name] = [str(value) for value in form.getlist(item.name)]
        elif item.kind != "files":
            values[item.name] = "\n".join(" ".join(line.split()) for line in str(form.get(item.name) or "").strip().splitlines()).strip()
    return values


def check(action: Action, values: dict, options: dict[str, dict], errors: FieldErrors) -> None:
    """What the user can fix in the form: a field left empty or too long, a choice not offered."""
    for item in action.fields:
        value = values.get(item.name)
        if item.kind == "select" and value not in options.get(item.options, {}):
            errors.add(item.name, pick(item.advice, errors.lang))
        elif item.kind == "textarea" and not (item.least <= len(value) <= item.most) and (value or not item.optional):
            errors.add(item.name, pick(item.advice, errors.lang))
        elif item.kind == "picks" and not set(value) <= set(options.get("attachments", {})):
            errors.add(item.name, pick(item.advice, errors.lang))


def service_refusal(action: Action, body: dict, errors: FieldErrors) -> None:
    """The service's refusal: beside the fields its 422 names, else for the whole form in its own words."""
    error = body.get("error", {})
    names = {item.name for item in action.fields} | {"attachments"}
    for problem in error.get("fields", ()):
        name = str(problem.get("field", "")).split(".")[-1]
        if name in names:
            item = next((f for f in action.fields if f.name == name), PICKS)
            errors.add(name, pick(item.advice, errors.lang))
    if not errors:
        errors.add("form", pick((error.get("message_fa") or "درخواست پذیرفته نشد.", error.get("message_en") or "The request was refused."),
                                errors.lang))
