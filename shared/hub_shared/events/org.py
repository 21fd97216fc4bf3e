"""Changes to the organisation tree on `hub.org.v1`, keyed by unit id.

Routing keeps the tree. A province's or agency's own system may publish changes to its units here;
routing's HTTP API publishes the changes staff make the same way. Routing (consumer group
`routing-org`) checks each change against the tree in force and applies it, or logs why not and keeps
the tree as it was. `kind` and `calendar` are plain strings on the bus, so a kind added later does not
make older consumers dead-letter the message; routing refuses values it does not know. A change that gives no
English name (`name_en`) is written without the field, exactly as before the field existed, so a routing that
does not know it yet still applies such a change.
"""

import unicodedata

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from hub_shared.access import SEGMENT
from hub_shared.events.base import Event, registry
from hub_shared.text import normalize_digits, normalize_text
from hub_shared.topics import ORG

UNIT_ID = rf"^{SEGMENT}(?:/{SEGMENT})*$"
"""A unit id is its path in the tree below the national root: `labour/isfahan/kashan/performance-office`."""
CODE = rf"^{SEGMENT}$"


def _plain_text(value: str | None) -> str | None:
    if value is None:
        return None
    text = normalize_text(value)
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
        raise ValueError("control characters are not allowed")
    return text


class UnitContact(BaseModel):
    """How citizens and other units reach a unit; every part is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: str | None = Field(None, min_length=3, max_length=32, pattern=r"^[0-9۰-۹٠-٩+()\- ]+$")
    email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(None, min_length=3, max_length=500)

    @field_validator("phone")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        return normalize_digits(value) if value is not None else None

    @field_validator("address")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _plain_text(value)


class UnitFields(BaseModel):
    """A unit as a whole, but for its id. An omitted province or county is its parent's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parent_id: str | None = Field(max_length=200, pattern=UNIT_ID, description="null only for the national root")
    name_fa: str = Field(min_length=2, max_length=300, description="the unit's Persian name")
    name_en: str | None = Field(None, min_length=2, max_length=300, description=(
        "the unit's English name, if it has one; the citizen's portal shows the Persian name on its English pages otherwise"))
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$", description=(
        "national, agency, provincial_directorate, county_office, performance_office, specialised_unit, security_office, "
        "economic_deputy, affiliated_organisation or sub_unit"))
    agency: str | None = Field(None, max_length=64, pattern=CODE, description="the first segment of the id; filled in when omitted")
    province: str | None = Field(None, max_length=64, pattern=CODE, description="a province code of the reference data")
    county: str | None = Field(None, max_length=64, pattern=CODE, description="a county code of the reference data, in `province`")
    calendar: str = Field("iran-standard", min_length=1, max_length=64, pattern=CODE, description=(
        "the working calendar the unit follows: iran-standard or iran-thursday-working"))
    contact: UnitContact = Field(default_factory=UnitContact)

    @field_validator("name_fa", "name_en")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _plain_text(value)

    @model_serializer(mode="wrap")
    def _without_absent_english_name(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        if data.get("name_en", "") is None:
            del data["name_en"]
        return data


@registry.register
class OrgUnitUpserted(Event, UnitFields):
    """Create this unit, or replace it whole."""

    event_type = "ir.hub.org.unit-upserted.v1"
    topic = ORG.name
    unit_id: str = Field(max_length=200, pattern=UNIT_ID)
    changed_by: str = Field(min_length=1, max_length=128, description="the person or system that made the change")
    changed_at: AwareDatetime

    def subject(self) -> str:
        return self.unit_id


@registry.register
class OrgUnitRemoved(Event):
    """Remove this unit. Only a unit without sub-units can go."""

    event_type = "ir.hub.org.unit-removed.v1"
    topic = ORG.name
    unit_id: str = Field(max_length=200, pattern=UNIT_ID)
    changed_by: str = Field(min_length=1, max_length=128)
    changed_at: AwareDatetime

    def subject(self) -> str:
        return self.unit_id
