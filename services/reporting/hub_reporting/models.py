"""Reporting's read models, built only from events."""

from datetime import date, datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (reporting owns these tables too)


class CaseStatus(SQLModel, table=True):
    __tablename__ = "reporting_case_status"

    tracking_code: str = Field(primary_key=True, max_length=16)
    case_id: UUID = Field(unique=True)
    case_number: str = Field(default="", max_length=32)
    kind: str = Field(default="", max_length=32)
    channel: str = Field(default="", max_length=32)
    status: str = Field(max_length=32)
    unit_id: str | None = Field(default=None, max_length=200)
    unit_name: str | None = None
    deadline_at: datetime | None = None
    registered_at: datetime | None = None
    updated_at: datetime


class CaseHistoryEntry(SQLModel, table=True):
    __tablename__ = "reporting_case_history"

    event_id: str = Field(primary_key=True, max_length=64)
    case_id: UUID = Field(index=True)
    event_type: str = Field(max_length=128)
    status: str = Field(max_length=32)
    occurred_at: datetime
    note_fa: str
    note_en: str
    source: str = Field(default="", max_length=200)
    trace_id: str | None = Field(default=None, max_length=32)


class CaseFact(SQLModel, table=True):
    """One row per case, for statistics: where it was aimed and held, what it was about, how it went."""

    __tablename__ = "reporting_case_fact"

    case_id: UUID = Field(primary_key=True)
    tracking_code: str = Field(max_length=16)
    agency: str = Field(default="", max_length=64)
    province: str = Field(default="", max_length=64)
    county: str | None = Field(default=None, max_length=64)
    unit_id: str = Field(default="", max_length=200, index=True)
    calendar: str | None = Field(default=None, max_length=64, description=(
        "the working calendar of the unit holding the case, as routing names it; none (older events): the standard one"))
    kind: str = Field(default="", max_length=32)
    topic_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(default="", max_length=32)
    confidential: bool = False
    about_employee: str | None = Field(default=None, max_length=64)
    registered_at: datetime = Field(index=True)
    routed_at: datetime | None = None
    answered_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=32)
    deadline_at: datetime | None = None
    on_time: bool | None = None
    reopen_count: int = 0
    transfer_count: int = 0


class StatusChange(SQLModel, table=True):
    """The change feed: `seq` comes from `FeedCounter` in the projecting transaction, so it follows commit order."""

    __tablename__ = "reporting_status_change"

    seq: int = Field(primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    case_id: UUID
    tracking_code: str = Field(max_length=16)
    unit_id: str = Field(default="", max_length=200)
    status: str = Field(max_length=32)
    event_type: str = Field(max_length=128)
    occurred_at: datetime


class FeedCounter(SQLModel, table=True):
    __tablename__ = "reporting_feed_counter"

    id: int = Field(primary_key=True)
    last_seq: int = 0


class RatingSums(SQLModel):
    """What a satisfaction total holds: how many ratings, the sum of scores, and per aspect how many rated it
    and the sum. Averages are sums over counts; no single rating is ever kept."""

    ratings: int = 0
    score_sum: int = 0
    respect_n: int = 0
    respect_sum: int = 0
    speed_n: int = 0
    speed_sum: int = 0
    quality_n: int = 0
    quality_sum: int = 0
    conduct_n: int = 0
    conduct_sum: int = 0


class UnitRatingDay(RatingSums, table=True):
    """Satisfaction per unit per day: counts and sums only, never a single rating."""

    __tablename__ = "reporting_rating_unit_day"

    unit_id: str = Field(primary_key=True, max_length=200)
    day: date = Field(primary_key=True)


class EmployeeRatingDay(RatingSums, table=True):
    __tablename__ = "reporting_rating_employee_day"

    unit_id: str = Field(primary_key=True, max_length=200)
    employee_id: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)


class UnitRatingMonth(RatingSums, table=True):
    """The same sums per unit per Jalali month (`month` is the Gregorian date of the month's first day), kept by
    the transaction that updates the day row: the drill-down reads whole months here and only the edges by day."""

    __tablename__ = "reporting_rating_unit_month"

    unit_id: str = Field(primary_key=True, max_length=200)
    month: date = Field(primary_key=True)


class EmployeeRatingMonth(RatingSums, table=True):
    __tablename__ = "reporting_rating_employee_month"

    unit_id: str = Field(primary_key=True, max_length=200)
    employee_id: str = Field(primary_key=True, max_length=64)
    month: date = Field(primary_key=True)
