"""The portal's two languages: Persian (the default, right to left) and English. The choice lives in a cookie
set by `/lang/{code}`; nothing about the citizen does."""

from fastapi import Request

LANGUAGES = ("fa", "en")
COOKIE = "hub_lang"

KINDS = {
    "complaint": ("شکایت", "Complaint"),
    "request": ("درخواست", "Request"),
    "suggestion": ("پیشنهاد", "Suggestion"),
    "idea": ("طرح یا ایده", "Idea or plan"),
    "criticism": ("انتقاد", "Criticism"),
    "report": ("گزارش یا مشاهده", "Report or observation"),
    "appreciation": ("تقدیر و تشکر", "Appreciation"),
    "misconduct_report": ("اعلام سوء جریان، رشوه یا فساد", "Report of misconduct, bribery or corruption"),
}
ASPECTS = {
    "respect": ("احترام و ادب", "Respect and courtesy"),
    "speed": ("سرعت انجام کار", "Speed"),
    "quality": ("کیفیت پاسخ", "Quality of the answer"),
    "conduct": ("رفتار و پاسخگویی کارکنان", "How staff dealt with you"),
}
# a case's status and a final answer's outcome in English (intake gives the Persian words, status_fa and outcome_fa)
STATUSES_EN = {"registered": "Registered", "referred": "Referred to a unit", "rejected": "Rejected", "answered": "Answered",
               "reopened": "Reopened", "archived": "Archived", "returned": "Returned", "awaiting_information": "Awaiting more information"}
OUTCOMES_EN = {"upheld": "upheld", "partly_upheld": "partly upheld", "not_upheld": "not upheld", "not_within_mandate": "outside the agency's mandate"}
# what to do about a field, in the words shown beside it when intake or the portal refuses it
FIELD_HELP = {
    "kind": ("نوع مراجعه را انتخاب کنید.", "Choose what kind of case this is."),
    "full_name": ("نام و نام خانوادگی را کامل بنویسید (دست‌کم ۲ حرف).", "Write your full name (at least 2 letters)."),
    "national_id": ("کد ملی باید ۱۰ رقم باشد و رقم کنترل آن درست باشد.", "The national ID must be 10 digits with a valid check digit."),
    "phone": ("شماره تلفن باید ۱۱ رقم و با صفر آغاز شود (مانند ۰۹۱۲۱۲۳۴۵۶۷).", "The phone must be 11 digits starting with 0 (e.g. 09121234567)."),
    "address": ("نشانی را کامل بنویسید (دست‌کم ۵ حرف).", "Write your full address (at least 5 characters)."),
    "email": ("نشانی ایمیل درست نیست (مانند name@example.ir).", "The e-mail address is not valid (e.g. name@example.ir)."),
    "complainant_type": ("انتخاب کنید که از طرف خودتان می‌نویسید یا از طرف یک گروه یا شخص حقوقی.",
                         "Choose whether you write for yourself or for a group or legal person."),
    "organisation_name": ("نام گروه یا شخص حقوقی را بنویسید.", "Name the group or legal person."),
    "subject": ("موضوع را در چند کلمه بنویسید (۳ تا ۳۰۰ حرف).", "Give the subject in a few words (3 to 300 characters)."),
    "description": ("شرح ماجرا را بنویسید (دست‌کم ۱۰ حرف).", "Describe the matter (at least 10 characters)."),
    "agency": ("دستگاه مسئول را انتخاب کنید.", "Choose the responsible agency."),
    "province": ("استان را انتخاب کنید.", "Choose the province."),
    "county": ("شهرستان را از همان استان انتخاب کنید.", "Choose a county in the chosen province."),
    "anonymous": ("فقط گزارش سوء جریان و فساد می‌تواند بی‌نام باشد.", "Only a report of misconduct or corruption may be anonymous."),
    "attachments": ("پیوست پذیرفته نشد.", "The attachment was refused."),
    "tracking_code": ("کد رهگیری ۱۱ رقم است؛ آن را دوباره بررسی کنید.", "The tracking code has 11 digits; check it again."),
    "proof": ("کد ملی، شماره تلفن یا رمز پیگیری را وارد کنید.", "Enter your national ID, phone or access code."),
    "score": ("یک امتیاز از ۱ تا ۵ انتخاب کنید.", "Choose a score from 1 to 5."),
    "objection": ("اعتراض خود را دست‌کم در ۲۰ حرف بنویسید.", "Write your objection in at least 20 characters."),
}


def language(request: Request) -> str:
    chosen = request.cookies.get(COOKIE, "fa")
    return chosen if chosen in LANGUAGES else "fa"


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "fa" else pair[1]
