"""Registration rules: what a submission must carry, and the identifiers a case is given."""

import re
import unicodedata
from dataclasses import dataclass

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


class CaseSubmission(BaseModel):
    """A case as a citizen files it through the web form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseKind
    full_name: str = Field(min_length=2, max_length=200)
    national_id: str = Field(min_length=10, max_length=20, description="کد ملی; Persian or Arabic digits accepted")
    phone: str = Field(min_length=8, max_length=20)
    address: str = Field(min_length=5, max_length=500)
    subject: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=10, max_length=20_000)
    target: Target
    confidential: bool = False

    @field_validator("full_name", "address", "subject", "description")
    @classmethod
    def _persian_text(cls, value: str) -> str:
        text = normalize_text(value)
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):  # NUL, escapes: PostgreSQL refuses NUL
            raise ValueError("control characters are not allowed")
        return text

    @field_validator("national_id", "phone")
    @classmethod
    def _digits(cls, value: str) -> str:
        return normalize_digits(value)


_PHONE = re.compile(r"0[0-9]{10}")  # ASCII only: \d also matches e.g. Devanagari digits


def check(submission: CaseSubmission, org: OrgSeed) -> None:
    """Raise Rejection for the first rule the submission breaks."""
    if not submission.national_id.isascii() or not is_valid_national_id(submission.national_id):
        raise Rejection("invalid_national_id", "کد ملی معتبر نیست؛ ده رقم کد ملی را بررسی کنید.",
                        "The national ID is not valid; check its ten digits.", "national_id")
    if not _PHONE.fullmatch(submission.phone):
        raise Rejection("invalid_phone", "شماره تلفن باید ۱۱ رقم و با صفر آغاز شود (مانند ۰۹۱۲۱۲۳۴۵۶۷).",
                        "The phone number must be 11 digits starting with 0 (e.g. 09121234567).", "phone")
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
