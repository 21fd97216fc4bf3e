"""The adapter contract between the hub and a remote (SAMAD, the inspection organization).

No public SAMAD API specification exists: this contract is defined from the domain and published as
docs/gateway-openapi.yaml, so an agency can put a thin adapter in front of the real system. Both
directions authenticate with the secret the hub shares with that remote (`Authorization: Bearer`).
"""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EXTERNAL_ID = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"


class Complainant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200)
    national_id: str = Field(min_length=1, max_length=20)
    phone: str = Field(min_length=1, max_length=20)
    address: str = Field(min_length=1, max_length=500)
    email: str | None = Field(None, max_length=254)


class RemoteCase(BaseModel):
    """A case as the remote holds it: pushed to the hub, or listed for the hub to poll."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(pattern=EXTERNAL_ID, description="the remote's own, stable id of the case")
    kind: str = Field(min_length=1, max_length=64, description="the remote's kind code (mapping table `kinds`)")
    unit_code: str = Field(min_length=1, max_length=64, description="the remote's code of the authority named (mapping table `units`)")
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    complainant: Complainant | None = Field(None, description="absent only for an anonymous misconduct report")
    confidential: bool = False
    received_at: AwareDatetime | None = None


class Receipt(BaseModel):
    """The hub's acknowledgement of a case: accepted now, or already accepted before (a duplicate)."""

    external_id: str
    status: str = Field(description="'accepted' or 'duplicate'; the tracking code follows as a 'registered' status update")


class CaseAcknowledgement(BaseModel):
    """Sent by the hub to the remote after it took a polled case, so the remote stops listing it."""

    accepted: bool
    reason: str | None = None


class Answer(BaseModel):
    outcome: str
    text: str
    legal_grounds: str


class StatusUpdate(BaseModel):
    """One change of a case, pushed to its origin. `sequence` grows by one per case; a remote applies
    an update only if it is newer than the last it applied, and acknowledges repeats by `update_id`."""

    update_id: str
    sequence: int = Field(ge=1)
    external_id: str
    tracking_code: str | None = None
    status: str = Field(description="the remote's status code (mapping table `statuses`)")
    note: str | None = None
    unit: str | None = None
    answer: Answer | None = None
    occurred_at: datetime


class UpdateAcknowledgement(BaseModel):
    update_id: str = Field(description="must repeat the update's id; any other id is not an acknowledgement of it")
    sequence: int | None = None


class RemoteStatus(BaseModel):
    """What the remote believes about a case, for reconciliation."""

    external_id: str
    status: str | None = None
    last_sequence: int = 0
