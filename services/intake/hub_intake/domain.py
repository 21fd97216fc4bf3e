"""Registration rules: what a submission must carry, and the identifiers a case is given."""

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub_shared.events import CaseKind, Target
from hub_shared.reference import OrgSeed
from hub_shared.text import is_valid_national_id, normalize_digits, normalize_text


@dataclass(frozen=True)
class Rejection(Exception):
    """A submission that cannot be registered, with a reason the citizen can act on."""

    code: str
    message_fa: str
    message_en: str
    field: str | None = None
    earlier_tracking_code: str | None = None


class ComplainantType(str, Enum):
    natural = "natural"
    group = "group"  # a group of people: one natural person represents them
    legal = "legal"  # a company or organisation: one natural person represents it


class CaseSubmission(BaseModel):
    """A case as a citizen files it (web form), as staff enter it for a citizen (phone 111, letter, in
    person, ...), or as another system sends it on the bus. The identity fields are the complainant's,
    or for a group or legal person their representative's; only a misconduct report may omit them all."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseKind
    complainant_type: ComplainantType = ComplainantType.natural
    organisation_name: str | None = Field(None, min_length=2, max_length=300, description="the group or legal person, if any")
    full_name: str | None = Field(None, min_length=2, max_length=200)
    national_id: str | None = Field(None, min_length=10, max_length=20, description="کد ملی; Persian or Arabic digits accepted")
    phone: str | None = Field(None, min_length=8, max_length=20)
    address: str | None = Field(None, min_length=5, max_length=500)
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    subject: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=10, max_length=20_000)
    target: Target
    confidential: bool = False
    about_employee: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                       description="staff id (personnel code) of the employee the case is about, if known")

    @field_validator("full_name", "address", "subject", "description", "organisation_name")
    @classmethod
    def _persian_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = normalize_text(value)
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):  # NUL, escapes: PostgreSQL refuses NUL
            raise ValueError("control characters are not allowed")
        return text

    @field_validator("national_id", "phone")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        return normalize_digits(value) if value is not None else None

    @property
    def anonymous(self) -> bool:
        return all(getattr(self, field) is None for field in IDENTITY)

    def personal_data(self) -> dict[str, str | None]:
        return {field: getattr(self, field) for field in (*IDENTITY, "email")}


IDENTITY = ("full_name", "national_id", "phone", "address")


_PHONE = re.compile(r"0[0-9]{10}")  # ASCII only: \d also matches e.g. Devanagari digits


def check(submission: CaseSubmission, org: OrgSeed) -> None:
    """Raise Rejection for the first rule the submission breaks."""
    _check_identity(submission)
    _check_target(submission, org)


def _check_identity(submission: CaseSubmission) -> None:
    missing = [field for field in IDENTITY if getattr(submission, field) is None]
    if submission.anonymous and submission.kind is CaseKind.misconduct_report:
        if submission.complainant_type is not ComplainantType.natural or submission.email is not None:
            raise Rejection("anonymous_with_partial_identity", "گزارش بی‌نام نباید نام گروه، شخص حقوقی یا نشانی ایمیل داشته باشد.",
                            "An anonymous report carries no group, legal person or e-mail.", "complainant_type")
        return
    if missing:
        raise Rejection(
            "identity_required",
            "نام و نام خانوادگی، کد ملی، شماره تلفن و نشانی لازم است؛ فقط گزارش سوء جریان و فساد می‌تواند بی‌نام باشد "
            "(در آن صورت هیچ‌یک را وارد نکنید).",
            "Full name, national ID, phone and address are required; only a misconduct or corruption report may be "
            "anonymous (then give none of them).", missing[0])
    if submission.complainant_type is not ComplainantType.natural and submission.organisation_name is None:
        raise Rejection("representative_required",
                        "برای گروه یا شخص حقوقی، نام آن و مشخصات یک شخص حقیقی به‌عنوان نماینده لازم است.",
                        "A group or legal person must be named, with one natural person as its representative.",
                        "organisation_name")
    if not submission.national_id.isascii() or not is_valid_national_id(submission.national_id):
        raise Rejection("invalid_national_id", "کد ملی معتبر نیست؛ ده رقم کد ملی را بررسی کنید.",
                        "The national ID is not valid; check its ten digits.", "national_id")
    if not _PHONE.fullmatch(submission.phone):
        raise Rejection("invalid_phone", "شماره تلفن باید ۱۱ رقم و با صفر آغاز شود (مانند ۰۹۱۲۱۲۳۴۵۶۷).",
                        "The phone number must be 11 digits starting with 0 (e.g. 09121234567).", "phone")


def _check_target(submission: CaseSubmission, org: OrgSeed) -> None:
    target = submission.target
    if target.agency not in org.agencies:
        raise Rejection("unknown_agency", "دستگاه مورد نظر شناخته نشد؛ دستگاه مسئول را دقیق مشخص کنید.",
                        f"Unknown agency {target.agency!r}; name the responsible agency precisely.", "target.agency")
    if target.province not in org.provinces:
        raise Rejection("unknown_province", "استان مورد نظر شناخته نشد.", f"Unknown province {target.province!r}.", "target.province")
    if target.county is not None and org.counties.get(target.county, ("",))[0] != target.province:
        raise Rejection("unknown_county", "شهرستان در استان انتخاب‌شده یافت نشد.",
                        f"County {target.county!r} is not in province {target.province!r}.", "target.county")


def citizen_ref(national_id_hash: str) -> str:
    """The pseudonym the bus carries: a prefix of the national ID's keyed hash (hub_shared.vault),
    stable for duplicate detection, meaningless without the key."""
    return national_id_hash[:32]
