"""Intake's own tables. Personal data lives only here, encrypted (hub_shared.vault)."""

from collections.abc import Mapping
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (intake owns these tables too)
from hub_shared.vault import PersonalDataVault

PERSONAL_FIELDS = ("full_name", "national_id", "phone", "address")
OPTIONAL_PERSONAL_FIELDS = ("email",)


class Case(SQLModel, table=True):
    __tablename__ = "intake_case"
    __table_args__ = (UniqueConstraint("source_system", "external_ref", name="uq_intake_case_source_ref"),)

    seq: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    case_id: UUID = Field(unique=True)
    case_number: str = Field(default="", max_length=32, index=True)
    tracking_code: str = Field(unique=True, max_length=16)
    kind: str = Field(max_length=32)
    channel: str = Field(max_length=32)
    subject_text: str = Field(max_length=300)
    description: str
    agency: str = Field(max_length=64)
    province: str = Field(max_length=64)
    county: str | None = Field(default=None, max_length=64)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=32)
    unit_id: str = Field(max_length=200, index=True, description="the unit holding the case; before routing, the target's place")
    unit_name: str | None = None
    deadline_at: datetime | None = None
    calendar: str | None = Field(default=None, max_length=64, description=(
        "the working calendar of the holding unit, as routing named it on the case's last referral or move; "
        "none: not yet referred, or an older event (the standard calendar)"))
    registered_at: datetime
    source_system: str | None = Field(default=None, max_length=64, description="the system that sent it over the bus")
    external_ref: str | None = Field(default=None, max_length=128, description="that system's own reference")
    anonymous: bool = False
    complainant_type: str = Field(default="natural", max_length=16)
    organisation_name: str | None = Field(default=None, max_length=300)
    entered_by: str | None = Field(default=None, max_length=128, description="staff member who entered it for the citizen")
    linked_to: UUID | None = Field(default=None, description="the earlier case this one duplicates")
    access_code_hash: str | None = Field(default=None, max_length=64, description="anonymous reports: keyed hash of the access code")
    answer_outcome: str | None = Field(default=None, max_length=32)
    answer_fa: str | None = None
    legal_grounds: str | None = None
    answered_at: datetime | None = None
    handling_score: int | None = Field(default=None, description="the citizen's 1-5 rating of how the case was handled")
    topic: str | None = Field(default=None, max_length=64,
                              description="topic id (topics.yaml): the classifier's suggestion, or what staff set")
    topic_confidence: float | None = Field(default=None, description="the classifier's confidence in its suggestion")
    topic_confirmed_by: str | None = Field(default=None, max_length=128,
                                           description="the staff member who last confirmed or corrected the topic")


class Objection(SQLModel, table=True):
    """The citizen's written objection to an answer, which reopened the case."""

    __tablename__ = "intake_objection"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    text: str
    at: datetime


class Attachment(SQLModel, table=True):
    """A scanned letter or document of a case; the content hash finds the same file sent twice."""

    __tablename__ = "intake_attachment"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_intake_attachment_case_content"),)

    attachment_id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64, index=True)
    content: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    uploaded_at: datetime
    uploaded_by: str | None = Field(default=None, max_length=128)


class CaseHistory(SQLModel, table=True):
    """What the citizen sees of the case's life when tracking it."""

    __tablename__ = "intake_case_history"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    status: str = Field(max_length=32)
    at: datetime
    note_fa: str
    note_en: str


class AuditEntry(SQLModel, table=True):
    """One access to personal data: who, in what role and unit, what, when and why. Append-only: the
    migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "intake_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=128, index=True)
    actor_role: str = Field(max_length=32)
    actor_unit: str = Field(max_length=200)
    action: str = Field(max_length=64)
    case_id: UUID = Field(index=True)
    case_unit: str = Field(max_length=200, description="the unit holding the case at the time, for subtree-scoped reading")
    fields: str = Field(max_length=200)
    purpose: str = Field(max_length=500)


class PendingRating(SQLModel, table=True):
    """A satisfaction rating waiting for the next shuffled release. No citizen, address or time of day."""

    __tablename__ = "intake_pending_rating"

    rating_id: UUID = Field(primary_key=True)
    unit_id: str = Field(max_length=200)
    employee_id: str | None = Field(default=None, max_length=64)
    score: int
    respect: int | None = None
    speed: int | None = None
    quality: int | None = None
    conduct: int | None = None
    rated_on: date


class Complainant(SQLModel, table=True):
    """Who filed the case, as ciphertexts. Never leaves intake; the bus carries only `citizen_ref`."""

    __tablename__ = "intake_complainant"

    case_id: UUID = Field(primary_key=True)
    full_name_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    national_id_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    phone_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    address_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    email_ciphertext: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    national_id_hash: str = Field(max_length=64, index=True)
    phone_hash: str = Field(max_length=64, description="keyed hash of the phone, so a citizen can track by phone")
    citizen_ref: str = Field(max_length=64, index=True)


def ciphertext_column(field: str) -> str:
    return f"{field}_ciphertext"


def seal_personal_data(vault: PersonalDataVault, case_id: UUID, personal: Mapping[str, str | None]) -> dict[str, bytes]:
    """Each personal field encrypted for its ciphertext column, bound to that column and the case."""
    return {ciphertext_column(field): vault.encrypt(personal[field], column=ciphertext_column(field), case_id=case_id)
            for field in (*PERSONAL_FIELDS, *OPTIONAL_PERSONAL_FIELDS) if personal.get(field) is not None}


def open_personal_data(vault: PersonalDataVault, case_id: UUID, sealed: Mapping[str, bytes | None]) -> dict[str, str]:
    """The plain personal fields of one complainant row (`sealed` maps ciphertext columns to values);
    optional fields only when present."""
    return {field: vault.decrypt(sealed[ciphertext_column(field)], column=ciphertext_column(field), case_id=case_id)
            for field in (*PERSONAL_FIELDS, *OPTIONAL_PERSONAL_FIELDS) if sealed.get(ciphertext_column(field)) is not None}


class ClassificationCorrection(SQLModel, table=True):
    """A staff decision on a case's topic (a correction, or a confirmation when `corrected` equals
    `suggested`), with the text it was about: training data for the classifier. It holds the citizen's
    words, so it stays in intake with the case, and erasing a case's data must erase its rows here too."""

    __tablename__ = "intake_classification_correction"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(index=True)
    suggested: str | None = Field(default=None, max_length=64, description="the case's topic before this decision")
    corrected: str = Field(max_length=64)
    corrected_by: str = Field(max_length=128)
    at: datetime
    text: str = Field(description="subject and description as classified (hub_intake.classify.case_text)")
