"""Commands other systems publish on `hub.inbound.v1` (provinces' and agencies' own channels, the
SAMAD gateway), and intake's answer when it cannot register one.

A `SubmitCase` carries the complainant's identity because intake must register it; intake is the
only consumer that parses it (followup reads the same topic for `SubmitResponse` and skips other types
unparsed), and the topic is kept briefly (see the topic catalog). The answer goes on
`hub.cases.v1`: `CaseRegistered` (or `CaseLinked`) names the sender's own reference, and
`SubmissionRejected` carries it too, so the sender can correlate either way.
"""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub_shared.events.base import Event, registry
from hub_shared.events.cases import CaseKind, Channel, Target
from hub_shared.topics import CASES, INBOUND

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class Identity(BaseModel):
    """The complainant (for a group or legal person: their natural-person representative)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    full_name: str = Field(max_length=200)
    national_id: str = Field(max_length=20)
    phone: str = Field(max_length=20)
    address: str = Field(max_length=500)
    email: str | None = Field(None, max_length=254)


class SourceRef(BaseModel):
    """Which system sent a case and its own reference for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str = Field(pattern=SOURCE_PATTERN)
    ref: str = Field(min_length=1, max_length=128)


@registry.register
class SubmitCase(Event):
    """Register this case. Idempotent per `source`: the same reference sent again registers nothing new."""

    event_type = "ir.hub.inbound.submit-case.v1"
    topic = INBOUND.name
    source: SourceRef
    channel: Channel
    kind: CaseKind
    identity: Identity | None = Field(None, description="absent only for an anonymous misconduct report")
    complainant_type: str = Field("natural", pattern=r"^(natural|group|legal)$")
    organisation_name: str | None = Field(None, max_length=300)
    title: str = Field(max_length=300, description="the case's subject line (عنوان)")
    description: str = Field(max_length=20_000)
    target: Target
    confidential: bool = False
    about_employee: str | None = Field(None, max_length=64)
    received_at: AwareDatetime | None = Field(None, description="when the sender received it from the citizen")

    def subject(self) -> str:
        return f"{self.source.system}:{self.source.ref}"


@registry.register
class SubmissionRejected(Event):
    """Intake refused a `SubmitCase`; `source` is the sender's reference, the reason is one it can act on."""

    event_type = "ir.hub.inbound.submission-rejected.v1"
    topic = CASES.name
    source: SourceRef
    reason_code: str
    reason_fa: str
    reason_en: str
    earlier_tracking_code: str | None = Field(None, description="set when the matter was already examined and answered")
    rejected_at: AwareDatetime

    def subject(self) -> str:
        return f"{self.source.system}:{self.source.ref}"
