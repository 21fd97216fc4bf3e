"""What citizens are told at each step of their case, in Persian (an English line follows in e-mails).

Placeholders are filled from the queued row's parameters, which never hold personal data;
`follow_up_phone` comes from the settings when the message is sent.
"""

from dataclasses import dataclass
from string import Formatter

from hub_shared.events import NotificationTemplate

FROM_SETTINGS = frozenset({"follow_up_phone"})


@dataclass(frozen=True)
class Wording:
    subject_fa: str
    text_fa: str
    text_en: str

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(name for part in (self.subject_fa, self.text_fa, self.text_en)
                         for _, name, _, _ in Formatter().parse(part) if name)


@dataclass(frozen=True)
class Rendered:
    subject: str
    sms: str
    email: str


WORDING: dict[NotificationTemplate, Wording] = {
    NotificationTemplate.registered: Wording(
        "ثبت درخواست {case_number}",
        "درخواست شما با شماره {case_number} در {registered_jalali} ثبت شد. کد رهگیری: {tracking_code}. "
        "پیگیری: تلفن {follow_up_phone}",
        "Your case {case_number} was registered on {registered_jalali} (Solar Hijri). Tracking code: {tracking_code}. "
        "To follow it up, call {follow_up_phone}.",
    ),
    NotificationTemplate.referred: Wording(
        "ارجاع درخواست {case_number}",
        "درخواست {case_number} به {unit_name} ارجاع شد. مهلت پاسخ: {deadline_jalali}. کد رهگیری: {tracking_code}",
        "Case {case_number} was referred to {unit_name}; the answer is due by {deadline_jalali} (Solar Hijri). "
        "Tracking code: {tracking_code}.",
    ),
    NotificationTemplate.rejected: Wording(
        "نتیجه بررسی درخواست {case_number}",
        "درخواست {case_number} مردود شد: {reason_fa} کد رهگیری: {tracking_code}",
        "Case {case_number} was rejected: {reason_en} Tracking code: {tracking_code}.",
    ),
    NotificationTemplate.reopened: Wording(
        "بازگشایی درخواست {case_number}",
        "درخواست {case_number} بازگشایی شد و دوباره بررسی می‌شود. کد رهگیری: {tracking_code}",
        "Case {case_number} was reopened and will be examined again. Tracking code: {tracking_code}.",
    ),
    NotificationTemplate.answered: Wording(
        "پاسخ درخواست {case_number}",
        "پاسخ نهایی درخواست {case_number} آماده است. آن را با کد رهگیری {tracking_code} ببینید یا با {follow_up_phone} "
        "تماس بگیرید.",
        "The final answer to case {case_number} is ready. See it with tracking code {tracking_code}, or call "
        "{follow_up_phone}.",
    ),
    NotificationTemplate.information_requested: Wording(
        "درخواست اطلاعات تکمیلی {case_number}",
        "برای رسیدگی به درخواست {case_number} این اطلاعات لازم است: {details} مدارک را با کد رهگیری {tracking_code} "
        "ارسال کنید یا با {follow_up_phone} تماس بگیرید.",
        "To examine case {case_number}, the office needs: {details} Send the documents with tracking code {tracking_code}, "
        "or call {follow_up_phone}.",
    ),
}


def missing_params(template: NotificationTemplate, params: dict[str, str]) -> list[str]:
    """The parameters the template shows that `params` lacks (those the settings fill excepted)."""
    return sorted(WORDING[template].placeholders - FROM_SETTINGS - params.keys())


def render(template: NotificationTemplate, params: dict[str, str], follow_up_phone: str) -> Rendered:
    wording = WORDING[template]
    values = {**params, "follow_up_phone": follow_up_phone}
    text_fa = wording.text_fa.format_map(values)
    return Rendered(subject=wording.subject_fa.format_map(values), sms=text_fa,
                    email=f"{text_fa}\n\n{wording.text_en.format_map(values)}\n")
