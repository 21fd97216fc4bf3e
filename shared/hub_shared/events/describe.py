"""What a case fact means to the citizen: the status it leads to and a note in Persian and English.

Intake (citizen tracking) and reporting (status pull) show the same words for the same fact.
"""

from typing import NamedTuple

from hub_shared.events.base import Event
from hub_shared.events.cases import (CaseAnswered, CaseArchived, CaseHandlingRated, CaseLinked, CaseRegistered, CaseRejected, CaseReopened,
                                     CaseRouted, DeadlineScheduled)
from hub_shared.events.casework import (AnswerReturnedForRework, FieldInspectionRecorded, InformationReceived,
                                        InformationRequested, OpinionGiven, ResponseSubmitted)
from hub_shared.events.followup import CaseEscalated, FollowUpSent, ReminderSent, SlaBreached
from hub_shared.events.routing import CaseForwarded, CaseReturned, CaseTransferred
from hub_shared.jalali import to_jalali


class StatusNote(NamedTuple):
    status: str | None  # None: the fact does not change the status
    note_fa: str
    note_en: str


def describe(event: Event) -> StatusNote:
    match event:
        case CaseRegistered():
            return StatusNote("registered", "درخواست ثبت شد.", "The case was registered.")
        case CaseRouted():
            return StatusNote("referred", f"به {event.unit_name} ارجاع شد؛ مهلت پاسخ: {to_jalali(event.deadline_at)}.",
                              f"Referred to {event.unit_id}; answer due {event.deadline_at:%Y-%m-%d}.")
        case CaseRejected():
            return StatusNote("rejected", f"مردود: {event.reason_fa}", f"Rejected: {event.reason_en}")
        case CaseLinked():
            return StatusNote(None, f"همین موضوع از مسیر «{CHANNEL_FA.get(event.channel.value, event.channel.value)}» هم رسید و به این پرونده پیوست شد.",
                              f"The same matter also arrived through {event.channel.value} and was linked to this case.")
        case CaseAnswered():
            return StatusNote("answered", f"پاسخ نهایی داده شد ({OUTCOME_FA[event.outcome.value]}).",
                              f"The final answer was given ({event.outcome.value}).")
        case CaseReopened():
            return StatusNote("reopened", "شهروند به پاسخ اعتراض کرد؛ پرونده برای بررسی دوباره بازگشایی شد.",
                              "The citizen objected to the answer; the case was reopened.")
        case CaseArchived():
            return StatusNote("archived", "شهروند پاسخ را پذیرفت؛ پرونده بایگانی شد.", "The citizen accepted the answer; the case is archived.")
        case CaseTransferred():
            return StatusNote("referred", f"به دستگاه مسئول منتقل شد: {event.unit_name}؛ مهلت پاسخ تغییر نمی‌کند.",
                              f"Transferred to {event.unit_id}; the deadline stays.")
        case CaseForwarded():
            return StatusNote("referred", f"برای رسیدگی به {event.unit_name} ارجاع شد.", f"Forwarded to {event.unit_id}.")
        case CaseReturned():
            return StatusNote("returned", f"اعاده شد: {event.reason_fa}", f"Returned: {event.reason_en}")
        case CaseHandlingRated():
            return StatusNote(None, f"شهروند نحوه رسیدگی را ارزیابی کرد ({event.score} از ۵).", f"The citizen rated the handling {event.score}/5.")
        case ReminderSent():
            return StatusNote(None, f"یادآوری به واحد: {event.days_left} روز کاری تا پایان مهلت.", f"Reminder to {event.unit_id}: {event.days_left} working days left.")
        case SlaBreached():
            return StatusNote(None, "مهلت قانونی پاسخ سپری شد.", f"The answer deadline passed at {event.unit_id}.")
        case FollowUpSent():
            ordinal = event.repeat and f"پیگیری مکرر {event.repeat}" or f"پیگیری {['نخست', 'دوم', 'سوم'][event.level - 1]}"
            notice = " با اطلاع مقام مافوق" if event.notice_to_superiors else ""
            return StatusNote(None, f"{ordinal} از واحد رسیدگی{notice}.", f"Follow-up {event.level}{' (repeat ' + str(event.repeat) + ')' if event.repeat else ''} "
                              f"to {event.unit_id}{' with notice to superiors' if event.notice_to_superiors else ''}.")
        case CaseEscalated():
            return StatusNote(None, "پرونده برای رسیدگی به سطح بالاتر ارجاع شد.", f"Escalated from {event.from_unit} to {event.to_unit}.")
        case ResponseSubmitted():
            return StatusNote(None, "پاسخ واحد رسیدگی ثبت شد.", f"{event.unit_id} submitted its response.")
        case InformationRequested():
            return StatusNote("awaiting_information", "برای ادامه رسیدگی، اطلاعات تکمیلی از شما خواسته شد.",
                              "More information was requested from the citizen.")
        case InformationReceived():
            return StatusNote("referred", "اطلاعات تکمیلی دریافت شد و رسیدگی ادامه دارد.", "The information arrived; handling continues.")
        case OpinionGiven():
            return StatusNote(None, "نظر کارشناسی ثبت شد.", "The expert gave an opinion.")
        case FieldInspectionRecorded():
            return StatusNote(None, "بررسی میدانی انجام شد.", "A field inspection was recorded.")
        case AnswerReturnedForRework():
            return StatusNote(None, "پاسخ برای اصلاح به واحد بازگردانده شد.", "The answer was returned to the unit for rework.")
        case DeadlineScheduled():
            return StatusNote(None, "پیگیری مهلت پاسخ فعال شد.", "Deadline follow-up is scheduled.")
    raise ValueError(f"no description for {type(event).__name__}")


STATUS_FA = {"registered": "ثبت‌شده", "referred": "ارجاع‌شده", "rejected": "مردود", "answered": "پاسخ داده‌شده",
             "reopened": "بازگشایی‌شده", "archived": "بایگانی‌شده", "returned": "اعاده‌شده",
             "awaiting_information": "در انتظار اطلاعات تکمیلی"}
OUTCOME_FA = {"upheld": "وارد است", "partly_upheld": "بخشی وارد است", "not_upheld": "وارد نیست",
              "not_within_mandate": "خارج از صلاحیت"}
CHANNEL_FA = {
    "web": "وبگاه", "email": "پست الکترونیک", "phone_111": "سامانه ۱۱۱", "in_person": "مراجعه حضوری", "letter": "نامه",
    "official_trip": "سفر مسئولان", "face_to_face": "ملاقات چهره‌به‌چهره", "samad": "سامد", "inspection_org": "سازمان بازرسی",
    "presidential_office": "نهاد ریاست جمهوری", "agency_system": "سامانه دستگاه",
}

TIMELINE_ONLY = (ReminderSent, SlaBreached, FollowUpSent, CaseEscalated, ResponseSubmitted, InformationRequested,
                 InformationReceived, OpinionGiven, FieldInspectionRecorded, AnswerReturnedForRework)
"""Facts of the work on a case: the ops timeline (reporting) shows them; the status changes only where noted."""
