"""The gateway's own tables."""

from datetime import datetime
from uuid import UUID

from sqlmodel import Field, SQLModel

from hub_shared.messaging import InboxEntry, OutboxMessage  # noqa: F401  (the gateway owns these tables too)


class ExternalCase(SQLModel, table=True):
    """A case that came from SAMAD or the inspection organization: its status must travel back there."""

    __tablename__ = "gateway_external_case"

    case_id: UUID = Field(primary_key=True)
    origin: str = Field(max_length=32)
    tracking_code: str = Field(max_length=16)
    last_status: str = Field(max_length=32)
    updated_at: datetime
