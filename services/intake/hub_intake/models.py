"""Intake's own tables. Personal data lives only here, encrypted (hub_shared.vault)."""

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, Column, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (intake owns these tables too)
from hub_shared.vault import PersonalDataVault

PERSONAL_FIELDS = ("full_name", "national_id", "phone", "address")


class Case(SQLModel, table=True):
    __tablename__ = "intake_case"

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
    status: str = Field(max_length=32)
    registered_at: datetime


class Complainant(SQLModel, table=True):
    """Who filed the case, as ciphertexts. Never leaves intake; the bus carries only `citizen_ref`."""

    __tablename__ = "intake_complainant"

    case_id: UUID = Field(primary_key=True)
    full_name_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    national_id_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    phone_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    address_ciphertext: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    national_id_hash: str = Field(max_length=64, index=True)
    citizen_ref: str = Field(max_length=64, index=True)


def ciphertext_column(field: str) -> str:
    return f"{field}_ciphertext"


def seal_personal_data(vault: PersonalDataVault, case_id: UUID, personal: Mapping[str, str]) -> dict[str, bytes]:
    """Each personal field encrypted for its ciphertext column, bound to that column and the case."""
    return {ciphertext_column(field): vault.encrypt(personal[field], column=ciphertext_column(field), case_id=case_id)
            for field in PERSONAL_FIELDS}


def open_personal_data(vault: PersonalDataVault, case_id: UUID, sealed: Mapping[str, bytes]) -> dict[str, str]:
    """The plain personal fields of one complainant row (`sealed` maps ciphertext columns to values)."""
    return {field: vault.decrypt(sealed[ciphertext_column(field)], column=ciphertext_column(field), case_id=case_id)
            for field in PERSONAL_FIELDS}
